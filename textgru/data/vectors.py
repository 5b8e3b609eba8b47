"""Pretrained word vectors (word2vec, GloVe and fastText text files, gzip or
not, or the named vectors of `textgru.data.resources`), aligned to a run's
tokenizer to start its embedding from.

A text vector file has one word and its numbers per line, separated by
spaces; word2vec's and fastText's `.vec` files start with a line `COUNT
DIMENSION`, GloVe's do not. Each word goes through the run's tokenizer
(its normalizer: the same lowercasing; its splitting), and its vector is
kept when the word is one token of the vocabulary, the first one found
winning (the files list frequent words first). Only those lines' numbers
are parsed, so a file of millions of words costs little memory.

    vectors = read_word_vectors("glove.6B.100d.txt.gz", tokenizer, dim=100)
    vectors = read_word_vectors("glove-6b-50d", tokenizer, dim=50)  # textgru[vectors]
    vectors.coverage     # the vocabulary's share that got a vector
"""

import dataclasses
import gzip
import itertools
import os
from pathlib import Path

import numpy as np

from textgru.data.fetch import sha256_of
from textgru.data.resources import WORD_VECTORS, glove_vectors
from textgru.data.tokenizer import SPECIAL_TOKENS
from textgru.errors import DatasetError

# Words read and tokenized at a time.
_CHUNK = 8192
# The longest line read of a vector file (characters): a 300-d fastText
# line is about 4,000.
MAX_LINE = 1 << 20


@dataclasses.dataclass
class WordVectors:
    """Vectors aligned to a tokenizer.

    Attributes:
        matrix: `(vocab_size, dim)` float32; zero where no vector was found.
        found: `(vocab_size,)` bool, the ids that got a vector.
        facts: what a run records: `path` (of a file) or `name` (of named
            vectors), `sha256` (of the file, or the named array), `dim`, `lines` read,
            `found` and `vocabulary` (tokens other than the specials), and
            `coverage` (found / vocabulary).
    """

    matrix: np.ndarray
    found: np.ndarray
    facts: dict

    @property
    def coverage(self):
        return self.facts["coverage"]


def read_word_vectors(source, tokenizer, dim):
    """Read word vectors for `tokenizer` (a `textgru.data.Tokenizer`), whose
    vectors must have `dim` numbers: `source` is a text vector file, or the
    name of pretrained vectors that ship in a package
    (`textgru.data.resources.WORD_VECTORS`: `"glove-6b-50d"`); a name wins
    over a file of that name in the working folder (write `./NAME` for it).

    Raises a `DatasetError` naming the file (and the line) for a missing
    file, vectors of another dimension, a malformed line, or no word of the
    vocabulary found; of a name, when its package is missing or changed."""
    if str(source) in WORD_VECTORS:
        named = glove_vectors(str(source))
        width = named.matrix.shape[1]
        _check_width(named.name, width, dim)
        where = f"the {named.name} vectors"
        chunks = (
            (None, [(row, named.words[row]) for row in range(start, end)])
            for start in range(0, len(named.words), _CHUNK)
            for end in [min(start + _CHUNK, len(named.words))]
        )
        aligned = _align(chunks, tokenizer, dim, lambda row: named.matrix[row], where)
        return WordVectors(
            *aligned[:2], {"name": named.name, "sha256": named.sha256, **aligned[2]}
        )
    path = Path(os.path.expanduser(str(source)))
    if not path.is_file():
        raise DatasetError(
            f"No word-vector file at {path} (the named vectors: "
            f"{', '.join(WORD_VECTORS)})"
        )
    aligned = _align(_checked(path, dim), tokenizer, dim, _parser(path), str(path))
    facts = {"path": str(path.resolve()), "sha256": sha256_of(path), **aligned[2]}
    return WordVectors(*aligned[:2], facts)


def _align(chunks, tokenizer, dim, vector_of, where):
    """`(matrix, found, facts)` from `chunks` of `(key, word)` pairs (the
    first word of each token wins; `vector_of(key)` gives its vector)."""
    vocab_size = tokenizer.vocab_size
    matrix = np.zeros((vocab_size, dim), np.float32)
    found = np.zeros(vocab_size, bool)
    specials = {tokenizer.token_to_id(t) for t in SPECIAL_TOKENS} - {None}
    lines = 0
    for _, chunk in chunks:
        words = [word for _, word in chunk]
        encodings = tokenizer.backend.encode_batch(words, add_special_tokens=False)
        for (key, _), encoding in zip(chunk, encodings, strict=True):
            ids = encoding.ids
            if len(ids) != 1 or ids[0] in specials or found[ids[0]]:
                continue
            matrix[ids[0]], found[ids[0]] = vector_of(key), True
        lines += len(chunk)
    if lines == 0:
        raise DatasetError(f"{where} holds no vectors")
    vocabulary = vocab_size - len(specials)
    if not found.any():
        raise DatasetError(
            f"{where}: none of the {vocabulary:,} tokens of the run's vocabulary "
            f"has a vector among its {lines:,} words; is it a file for this "
            "language (and a word tokenizer)?"
        )
    facts = {
        "dim": dim,
        "lines": lines,
        "found": int(found.sum()),
        "vocabulary": vocabulary,
        "coverage": round(float(found.sum()) / max(vocabulary, 1), 6),
    }
    return matrix, found, facts


def _check_width(where, width, dim):
    if width != dim:
        raise DatasetError(
            f"{where}: the vectors have {width} numbers each, the embedding {dim}; "
            f"pass --embed-dim {width} (or vectors of {dim} numbers)"
        )


def _checked(path, dim):
    """The file's chunks as `((line, fields), word)` pairs, every line
    checked to have `dim` numbers."""
    for first, chunk in _chunks(path):
        pairs = []
        for line, parts in chunk:
            width = len(parts) - 1
            if line == first:
                _check_width(path, width, dim)
            elif width != dim:
                raise DatasetError(
                    f"{path}, line {line}: {width} numbers after the word where "
                    f"line {first} has {dim}; is the file damaged?"
                )
            pairs.append(((line, parts), parts[0]))
        yield first, pairs


def _parser(path):
    """The vector of a `(line, fields)` key of the file `path` (parsed only
    for the words that are kept)."""

    def vector_of(key):
        line, parts = key
        try:
            vector = np.asarray(parts[1:], np.float32)
        except ValueError:
            raise DatasetError(
                f"{path}, line {line}: not a word and {len(parts) - 1} numbers "
                f"({' '.join(parts[:3])[:60]} ...)"
            ) from None
        if not np.isfinite(vector).all():
            raise DatasetError(f"{path}, line {line}: a number that is not finite")
        return vector

    return vector_of


def _chunks(path):
    """`(first data line, [(line number, fields), ...])` in chunks, with a
    word2vec header line skipped."""
    opener = gzip.open if _is_gzip(path) else open
    chunk, first = [], None
    try:
        with opener(path, "rt", encoding="utf-8") as file:
            for number, text in enumerate(_bounded_lines(file, path), start=1):
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


def _bounded_lines(file, path):
    """The lines of a text file, each read with a bound (`MAX_LINE`
    characters): a line longer than any vector file's (a gzip that expands
    to one line of a gigabyte) is refused before it is held."""
    for number in itertools.count(1):
        line = file.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise DatasetError(
                f"{path}, line {number}: longer than {MAX_LINE:,} characters, far "
                "more than a word and its vector; not a word-vector text file"
            )
        yield line


def _is_gzip(path):
    with open(path, "rb") as file:
        return file.read(2) == b"\x1f\x8b"
