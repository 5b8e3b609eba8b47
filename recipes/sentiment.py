"""Sentiment classification: the recommended GRU recipe on rotten_tomatoes.

    python recipes/sentiment.py                         # defaults -> runs/sentiment
    python recipes/sentiment.py --dataset sms_spam --out runs/spam
    python recipes/sentiment.py --help                  # every ClassifierConfig flag

The same as `textgru train classify ...`; the defaults are those of
`textgru.tasks.ClassifierConfig`.
"""

import sys

from textgru import cli


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return cli.main(["train", "classify", *argv])


if __name__ == "__main__":
    sys.exit(main())
