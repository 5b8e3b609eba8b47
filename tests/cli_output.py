"""Running the `textgru` command in the tests and reading what it printed."""

import subprocess
import sys


def error_lines(stderr):
    """The lines of `stderr` that are not status lines (`textgru: loading
    ...`): what a failed command said about its failure."""
    return [
        line
        for line in stderr.strip().splitlines()
        if line.startswith("textgru: error") or not line.startswith("textgru: ")
    ]


# The `textgru` console script's own entry (`textgru_cli.main`), which loads
# the package lazily: `python -m textgru.cli` imports it all first (about
# 10 s, against 0.2 s for `textgru datasets` through the entry).
ENTRY = "import sys, textgru_cli; sys.exit(textgru_cli.main())"


def textgru(*args, stdin=None, env=None, cwd=None):
    """`textgru ARGS` as a real process, started as the `textgru` command
    starts: `(exit code, stdout, "textgru: error" lines, stderr)`."""
    result = subprocess.run(
        [sys.executable, "-c", ENTRY, *map(str, args)],
        input=stdin, capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )  # fmt: skip
    errors = [
        line for line in result.stderr.splitlines() if line.startswith("textgru: error")
    ]
    return result.returncode, result.stdout, errors, result.stderr
