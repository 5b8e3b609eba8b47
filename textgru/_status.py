"""One line on stderr as each long phase of a command starts ("training the
tokenizer", "evaluating", ...), so a user never waits on a silent terminal.
`TEXTGRU_QUIET=1` (or `textgru --quiet`) turns them off."""

import os
import sys

QUIET = "TEXTGRU_QUIET"


def quiet():
    return os.environ.get(QUIET, "") not in ("", "0")


def say(message):
    """Print `textgru: message` on stderr (unless quiet)."""
    if not quiet() and sys.stderr is not None:  # print(file=None) is stdout
        print(f"textgru: {message}", file=sys.stderr, flush=True)
