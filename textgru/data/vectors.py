"""Pretrained word vectors (word2vec, GloVe and fastText text files, gzip or
not), aligned to a run's tokenizer to start its embedding from.

A text vector file has one word and its numbers per line, separated by
spaces; word2vec's and fastText's `.vec` files start with a line `COUNT
DIMENSION`, GloVe's do not. Each word goes through the run's tokenizer
(its normalizer: the same lowercasing; its splitting), and its vector is
kept when the word is one token of the vocabulary, the first one found
winning (the files list frequent words first). Only those lines' numbers
are parsed, so a file of millions of words costs little memory.

    vectors = read_word_vectors("glove.6B.100d.txt.gz", tokenizer, dim=100)
    vectors.coverage     # the vocabulary's share that got a vector
"""

import dataclasses
import gzip
import os
from pathlib import Path

import numpy as np

from textgru.data.fetch import sha256_of
from textgru.data.tokenizer import SPECIAL_TOKENS
from textgru.errors import DatasetError

# Words read and tokenized at a time.
_CHUNK = 8192


@dataclasses.dataclass
class WordVectors:
    """Vectors aligned to a tokenizer.

    Attributes:
        matrix: `(vocab_size, dim)` float32; zero where no vector was found.
        found: `(vocab_size,)` bool, the ids that got a vector.
        facts: what a run records: `path`, `sha256`, `dim`, `lines` read,
            `found` and `vocabulary` (tokens other than the specials), and
            `coverage` (found / vocabulary).
    """

    matrix: np.ndarray
    found: np.ndarray
    facts: dict

    @property
    def coverage(self):
        return self.facts["coverage"]


def read_word_vectors(path, tokenizer, dim):
    """Read the text vector file `path` for `tokenizer` (a
    `textgru.data.Tokenizer`), whose vectors must have `dim` numbers.

    Raises a `DatasetError` naming the file (and the line) for a missing
    file, vectors of another dimension, a malformed line, or no word of the
    vocabulary found."""
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise DatasetError(f"No word-vector file at {path}")
    vocab_size = tokenizer.vocab_size
    matrix = np.zeros((vocab_size, dim), np.float32)
    found = np.zeros(vocab_size, bool)
    specials = {tokenizer.token_to_id(t) for t in SPECIAL_TOKENS} - {None}
    lines, width = 0, None
    for first, chunk in _chunks(path):
        words = [parts[0] for _, parts in chunk]
        encodings = tokenizer.backend.encode_batch(words, add_special_tokens=False)
        for (line, parts), encoding in zip(chunk, encodings, strict=True):
            if width is None:
                width = len(parts) - 1
                if width != dim:
                    raise DatasetError(
                        f"{path}: the vectors have {width} numbers each, the "
                        f"embedding {dim}; pass --embed-dim {width} (or a file of "
                        f"{dim}-number vectors)"
                    )
            if len(parts) - 1 != width:
                raise DatasetError(
                    f"{path}, line {line}: {len(parts) - 1} numbers after the word "
                    f"where line {first} has {width}; is the file damaged?"
                )
            ids = encoding.ids
            if len(ids) != 1 or ids[0] in specials or found[ids[0]]:
                continue
            try:
                vector = np.asarray(parts[1:], np.float32)
            except ValueError:
                raise DatasetError(
                    f"{path}, line {line}: not a word and {width} numbers "
                    f"({' '.join(parts[:3])[:60]} ...)"
                ) from None
            if not np.isfinite(vector).all():
                raise DatasetError(f"{path}, line {line}: a number that is not finite")
            matrix[ids[0]], found[ids[0]] = vector, True
        lines += len(chunk)
    if width is None:
        raise DatasetError(f"{path} holds no vectors")
    vocabulary = vocab_size - len(specials)
    if not found.any():
        raise DatasetError(
            f"{path}: none of the {vocabulary:,} tokens of the run's vocabulary has "
            f"a vector among its {lines:,} words; is it a file for this language "
            "(and a word tokenizer)?"
        )
    facts = {
        "path": str(path.resolve()),
        "sha256": sha256_of(path),
        "dim": width,
        "lines": lines,
        "found": int(found.sum()),
        "vocabulary": vocabulary,
        "coverage": round(float(found.sum()) / max(vocabulary, 1), 6),
    }
    return WordVectors(matrix, found, facts)


def _chunks(path):
    """`(first data line, [(line number, fields), ...])` in chunks, with a
    word2vec header line skipped."""
    opener = gzip.open if _is_gzip(path) else open
    chunk, first = [], None
    try:
        with opener(path, "rt", encoding="utf-8") as file:
            for number, text in enumerate(file, start=1):
                # fastText's lines end in a space: no empty last field.
                parts = text.rstrip().split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # "COUNT DIMENSION"
                if not text.strip():
                    continue
                if first is None:
                    first = number
                chunk.append((number, parts))
                if len(chunk) == _CHUNK:
                    yield first, chunk
                    chunk = []
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{path}: bytes that are not UTF-8 ({error.reason}); give a text vector "
            "file (word2vec/GloVe/fastText .txt or .vec, gzip or not)"
        ) from None
    except (OSError, EOFError) as error:
        raise DatasetError(f"Could not read {path}: {error}") from None
    if chunk:
        yield first, chunk


def _is_gzip(path):
    with open(path, "rb") as file:
        return file.read(2) == b"\x1f\x8b"
