"""The leak check: no held-out text of a task may be in a pretraining corpus.

A language model that has read the test reviews makes a classifier built on it
look better than it is. Texts are compared after lowercasing and collapsing
white space. A held-out text of `MIN_WORDS` words or more counts as leaked if
it appears anywhere in the corpus, inside a longer row too. Shorter texts are
not checked: phrases such as "Don't waste your money." or "Ok." turn up in
any large corpus by chance (both do in the built-in corpora), and say little
about a task's answers.
"""

import re

from textgru.errors import DataLeakError

MIN_WORDS = 6
_SPACE = re.compile(r"\s+")


def normalize(text):
    return _SPACE.sub(" ", text).strip().lower()


def find_leaks(corpus, heldout):
    """The texts of `heldout` that appear in `corpus` (both lists of texts), in
    the order of `heldout`."""
    joined = "\n".join(normalize(row) for row in corpus)
    leaked = []
    for text in heldout:
        key = normalize(text)
        if len(key.split()) >= MIN_WORDS and key in joined:
            leaked.append(text)
    return leaked


def check_no_leak(
    corpus, heldout, *, corpus_name="The corpus", heldout_name="held-out"
):
    """Raise `DataLeakError` if a text of `heldout` is in `corpus` (see
    `find_leaks`).

    Example:

    >>> check_no_leak(["a play in five acts"], ["a fine film"])
    """
    leaked = find_leaks(corpus, heldout)
    if leaked:
        example = leaked[0] if len(leaked[0]) <= 80 else leaked[0][:77] + "..."
        raise DataLeakError(
            f"{corpus_name} contains {len(leaked)} of the {len(heldout)} "
            f"{heldout_name} texts (for example {example!r}); pretrain on text "
            "without them"
        )
