"""Language modelling: a character-level GRU language model of Shakespeare.

    python recipes/language_model.py                    # defaults -> runs/lm
    python recipes/language_model.py --tokenizer bpe --vocab-size 4000 --out runs/lm-bpe
    python recipes/language_model.py --max-steps 200 --out runs/lm-quick
    python recipes/language_model.py --help             # every LanguageModelConfig flag

The same as `textgru train lm ...`; then `textgru generate runs/lm --prompt
"ROMEO:"`. The defaults are those of `textgru.tasks.LanguageModelConfig`.
"""

import sys

from textgru import cli


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return cli.main(["train", "lm", *argv])


if __name__ == "__main__":
    sys.exit(main())
