"""Text to model input, one way for every use: training batches, `evaluate`,
`predict` and gate inspection."""

import dataclasses

import numpy as np

from textgru.data.tokenizer import Tokenizer
from textgru.errors import DatasetError, InvalidArgumentError


@dataclasses.dataclass(frozen=True)
class Preprocessor:
    """Tokenize, cut to `max_length`, add `[BOS]` / `[EOS]`, pad with id 0.

    A run's model and its preprocessor go together: `ClassifierRun` and
    `LanguageModelRun` have one (`run.preprocessor`), the tf.data pipelines
    encode with one, and `gate_activations` reads texts with one, so the
    ids a model sees never depend on which of them fed it.

    Args:
        tokenizer: a `textgru.data.Tokenizer`.
        max_length: keep at most this many tokens of each text (its start),
            before any `[BOS]` / `[EOS]`; None keeps all.
        add_bos: put `[BOS]` first (as language models are trained).
        add_eos: put `[EOS]` last.

    Example:

    >>> tok = textgru.data.train_tokenizer(["a good film", "a bad film"])
    >>> pre = Preprocessor(tok, max_length=2)
    >>> pre.pad(pre.encode_batch(["a good film", "bad"])).shape
    (2, 2)
    """

    tokenizer: Tokenizer
    max_length: int | None = None
    add_bos: bool = False
    add_eos: bool = False

    def __post_init__(self):
        if self.max_length is not None and (
            isinstance(self.max_length, bool)
            or not isinstance(self.max_length, int)
            or self.max_length < 1
        ):
            raise InvalidArgumentError(
                "Expected `max_length` to be a positive integer or None. "
                f"Received: max_length={self.max_length!r}"
            )
        for name in ("bos", "eos"):
            if (
                getattr(self, f"add_{name}")
                and getattr(self.tokenizer, f"{name}_id") is None
            ):
                raise InvalidArgumentError(
                    f"add_{name}=True needs a tokenizer with a [{name.upper()}] "
                    "token; this one has none"
                )

    @property
    def pad_id(self):
        return 0

    def _finish(self, ids):
        ids = list(ids[: self.max_length])
        if self.add_bos:
            ids = [self.tokenizer.bos_id, *ids]
        if self.add_eos:
            ids = [*ids, self.tokenizer.eos_id]
        return ids

    def encode_batch(self, texts):
        """The ids of each text, a list of lists."""
        return [self._finish(row) for row in self.tokenizer.encode_batch(list(texts))]

    def encode_pieces(self, text):
        """`(ids, pieces)` of one text: the piece of text each id covers
        (special tokens by name), for labelling plots."""
        ids, pieces = self.tokenizer.encode_pieces(text)
        pieces = list(pieces[: self.max_length])
        if self.add_bos:
            pieces = ["[BOS]", *pieces]
        if self.add_eos:
            pieces = [*pieces, "[EOS]"]
        return self._finish(ids), pieces

    def pad(self, rows, width=None):
        """Rows of ids as one int32 array `(len(rows), width)`, right-padded
        with 0 to `width` (default: the longest row, at least 1)."""
        width = width or max(1, max((len(row) for row in rows), default=1))
        padded = np.full((len(rows), width), self.pad_id, dtype=np.int32)
        for i, row in enumerate(rows):
            padded[i, : len(row)] = row[:width]
        return padded

    def batches(self, texts, batch_size):
        """Padded id arrays of `batch_size` texts at a time, in order (each
        padded to its own longest text)."""
        ids = self.encode_batch(texts)
        for start in range(0, len(ids), batch_size):
            yield self.pad(ids[start : start + batch_size])

    def batches_by_length(self, texts, batch_size):
        """Like `batches`, with the texts sorted by length first, so each
        batch holds texts of about one length and is padded little: yields
        `(positions, ids)`, where `positions` are the batch's places in
        `texts`, for putting results back in order."""
        ids = self.encode_batch(texts)
        order = np.argsort([len(row) for row in ids], kind="stable")
        for start in range(0, len(ids), batch_size):
            positions = order[start : start + batch_size]
            yield positions, self.pad([ids[i] for i in positions])

    def encode_dataset(self, dataset):
        """The ids of every text of a `datasets.Dataset` split, tokenized in
        `Dataset.map(batched=True)` (the Rust batch path): a flat int32 array
        and row offsets, `(values, offsets)`; row i is
        `values[offsets[i]:offsets[i + 1]]`."""
        if "text" not in dataset.column_names:
            raise DatasetError(
                f"Expected a dataset with a `text` column. Received columns: "
                f"{', '.join(dataset.column_names)}"
            )
        from textgru.data.progress import quiet  # (datasets: not for predicting)

        with quiet():
            encoded = dataset.map(
                lambda batch: {"ids": self.encode_batch(batch["text"])},
                batched=True,
                batch_size=1000,
                remove_columns=dataset.column_names,
                keep_in_memory=True,
                load_from_cache_file=False,
                new_fingerprint="textgru-encode",
            )
        column = encoded.data.column("ids").combine_chunks()
        values = column.values.to_numpy(zero_copy_only=False).astype(np.int32)
        offsets = column.offsets.to_numpy().astype(np.int64)
        return values, offsets
