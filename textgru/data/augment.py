"""Text augmentation for distillation (Tang et al. 2019, "Distilling
Task-Specific Knowledge from BERT into Simple Neural Networks", section 3.3).

Each new text comes from a training text: every word is, with probability
`p_mask`, replaced by a mask token, else with probability `p_swap` by a
word drawn from the training texts' words by frequency (the paper swaps
words of the same part of speech; no tagger here, so any word), and then
with probability `p_ngram` only an n-gram of 1 to 5 of its words is kept.
The teacher labels these texts, and the student learns its answers on far
more texts than the labelled ones.

    augment(["a gem of a film", "dull and far too long"], copies=4, seed=0)
"""

import collections

import numpy as np

from textgru import _validation

# What a masked word becomes: the teacher reads it as BERT's [MASK]
# (`for_teacher`), the student as its tokenizer's unknown token.
MASK = "[UNK]"


def augment(
    texts, copies, *, seed=0, p_mask=0.1, p_swap=0.1, p_ngram=0.25, max_ngram=5
):
    """`copies` new texts per text of `texts` (fewer where a draw repeats
    a text already made or given), in order; words are split at spaces."""
    _validation.at_least("copies", copies, 0)
    for name, value in (("p_mask", p_mask), ("p_swap", p_swap), ("p_ngram", p_ngram)):
        _validation.rate(name, value)
    rng = np.random.default_rng(seed)
    split = [text.split() for text in texts]
    counts = collections.Counter(word for words in split for word in words)
    vocabulary = list(counts)
    weights = np.array([counts[w] for w in vocabulary], np.float64)
    weights /= max(weights.sum(), 1.0)
    seen = set(texts)
    made = []
    for words in split:
        if not words:
            continue
        for _ in range(copies):
            rolls = rng.random(len(words))
            swaps = rng.choice(len(vocabulary), size=len(words), p=weights)
            new = [
                MASK if roll < p_mask
                else vocabulary[swap] if roll < p_mask + p_swap
                else word
                for word, roll, swap in zip(words, rolls, swaps, strict=True)
            ]  # fmt: skip
            if rng.random() < p_ngram and len(new) > 1:
                n = int(rng.integers(1, min(max_ngram, len(new)) + 1))
                start = int(rng.integers(0, len(new) - n + 1))
                new = new[start : start + n]
            text = " ".join(new)
            if text not in seen:
                seen.add(text)
                made.append(text)
    return made


def for_teacher(texts, mask_token="[MASK]"):
    """`texts` with each masked word as the teacher's `mask_token`."""
    return [text.replace(MASK, mask_token) for text in texts]
