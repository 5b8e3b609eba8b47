"""One line on stderr as each long phase of a command starts ("training the
tokenizer", "evaluating", ...), so a user never waits on a silent terminal.
`TEXTGRU_QUIET=1` (or `textgru --quiet`) turns them off."""

import os
import sys

QUIET = "TEXTGRU_QUIET"


def quiet():
    return os.environ.get(QUIET, "") not in ("", "0")


def say(message, stream=None):
    """Print `textgru: message` on stderr, or on `stream` (unless quiet)."""
    stream = stream or sys.stderr
    if not quiet() and stream is not None:  # print(file=None) is stdout
        print(f"textgru: {message}", file=stream, flush=True)
