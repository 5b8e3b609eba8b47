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
_WORD = re.compile(r"\S+")


def normalize(text):
    return _SPACE.sub(" ", text).strip().lower()


def find_leaks(corpus, heldout):
    """The texts of `heldout` that appear in `corpus` (both lists of texts), in
    the order of `heldout`.

    Each held-out text is looked for only where it can start: its words
    other than the first and last are whole words of the corpus wherever
    it appears, so it is compared at the places of one of them (its longest,
    usually the rarest). One pass over the corpus finds those places, where
    searching the whole corpus for each text took a pass per text (10 s for
    the 10,662 rotten_tomatoes reviews against movie_dialog)."""
    joined = "\n".join(normalize(row) for row in corpus)
    keys = {}  # the texts long enough to count, by their normal form
    for text in heldout:
        key = normalize(text)
        if len(key.split()) >= MIN_WORDS:
            keys.setdefault(key, []).append(text)
    anchors = {key: _anchor(key) for key in keys}
    wanted = {word for word, _ in anchors.values()}
    places = {}
    for match in _WORD.finditer(joined):
        if match.group() in wanted:
            places.setdefault(match.group(), []).append(match.start())
    found = {
        key
        for key, (word, offset) in anchors.items()
        if any(
            joined.startswith(key, place - offset)
            for place in places.get(word, ())
            if place >= offset
        )
    }
    return [text for text in heldout if normalize(text) in found]


def _anchor(key):
    """The longest of `key`'s inner words, and where it starts in `key`."""
    words = key.split(" ")
    starts = [0]
    for word in words[:-1]:
        starts.append(starts[-1] + len(word) + 1)
    inner = max(range(1, len(words) - 1), key=lambda i: len(words[i]))
    return words[inner], starts[inner]


def check_no_leak(
    corpus,
    heldout,
    *,
    corpus_name="The corpus",
    heldout_name="held-out",
    advice="pretrain on text without them",
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
            f"{heldout_name} texts (for example {example!r}); {advice}"
        )
