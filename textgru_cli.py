"""The entry point of the `textgru` command.

It sits outside the `textgru` package so that it runs before the package's
`__init__`: it asks the package to load lazily, so `textgru --help` and
`textgru datasets` start without importing TensorFlow, and `--verbose` is
seen before the backend is first imported. `textgru.cli` imports what each
command needs.
"""

import os
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    os.environ["TEXTGRU_LAZY_IMPORT"] = "1"
    try:
        from textgru import cli
    finally:
        # Processes the command starts (`textgru launch`) load as usual.
        del os.environ["TEXTGRU_LAZY_IMPORT"]
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
