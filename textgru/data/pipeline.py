"""From a tokenized split to batches: `tf.data` pipelines for the tasks.

Tokenizing runs once, in `Dataset.map(batched=True)` (the Rust batch path).
The ids then go into tf.data as one ragged tensor; shuffling, bucketing,
batching and padding run inside tf.data's C++ runtime on whole batches of row
indices, with no per-example Python in the training loop.
"""

import numpy as np

from textgru import _validation
from textgru.data.preprocessor import Preprocessor
from textgru.errors import DatasetError, InvalidArgumentError


def encode(dataset, tokenizer, *, max_length=None, add_bos=False, add_eos=False):
    """Token ids of every text of `dataset`: a flat int32 array and row offsets.

    Returns `(values, offsets)`: the ids of row i are
    `values[offsets[i]:offsets[i + 1]]`, as `Preprocessor.encode_dataset`
    gives them (cut to `max_length`, `[BOS]` first when `add_bos`, `[EOS]`
    last when `add_eos`).
    """
    for name, wanted in (("bos", add_bos), ("eos", add_eos)):
        if wanted:
            _special(tokenizer, name)
    preprocessor = Preprocessor(tokenizer, max_length, add_bos, add_eos)
    return preprocessor.encode_dataset(dataset)


def classification_dataset(
    dataset,
    tokenizer,
    *,
    batch_size=32,
    max_length=256,
    shuffle=False,
    seed=0,
    bucket_by_length=False,
    bucket_window=32,
    pad_to_max_length=False,
    drop_remainder=False,
    class_weights=None,
):
    """Batches of `(ids, labels)` for text classification, as a `tf.data.Dataset`.

    Args:
        dataset: a split with `text` and `label` columns (from `load_dataset`).
        tokenizer: a `textgru.data.Tokenizer` whose `[PAD]` id is 0.
        batch_size: texts per batch.
        max_length: keep at most this many tokens of each text (its start).
        shuffle: reshuffle the texts every epoch (seeded by `seed`).
        bucket_by_length: batch texts of similar length together, so short
            texts are not padded to the longest: the (shuffled) texts are
            taken `bucket_window` batches at a time, sorted by length and cut
            into batches, and those batches are shuffled again.
        bucket_window: how many batches' worth of texts are sorted together.
        pad_to_max_length: pad every batch to `max_length` (fixed shapes, for
            XLA or the JAX backend); otherwise to the longest in the batch.
        drop_remainder: drop the last, smaller batch.
        class_weights: optional weight of each class (by class id) in the
            loss; each batch then also holds each text's weight, which Keras
            takes as `sample_weight` (as `fit(class_weight=...)` does).

    Returns:
        A `tf.data.Dataset` of `ids` (int32, `(batch, length)`, padded with 0)
        and `labels` (int32, `(batch,)`), and with `class_weights` the
        `weights` (float32, `(batch,)`), in the split's order unless shuffled
        or bucketed.
    """
    if "label" not in dataset.column_names:
        raise DatasetError(
            "Expected a dataset with a `label` column for classification. Received "
            f"columns: {', '.join(dataset.column_names)}; load it with label_column=..."
        )
    return _text_batches(
        dataset, tokenizer, np.asarray(dataset["label"], dtype=np.int32),
        batch_size=batch_size, max_length=max_length, shuffle=shuffle, seed=seed,
        bucket_by_length=bucket_by_length, bucket_window=bucket_window,
        pad_to_max_length=pad_to_max_length, drop_remainder=drop_remainder,
        class_weights=class_weights,
    )  # fmt: skip


def regression_dataset(dataset, tokenizer, **options):
    """Batches of `(ids, targets)` for regression, as a `tf.data.Dataset`:
    as `classification_dataset` (the same options, but no class weights),
    with the split's float `target` column (from `load_dataset(...,
    target=Numbers(column))`) as float32 `targets` `(batch,)`."""
    if "target" not in dataset.column_names:
        raise DatasetError(
            "Expected a dataset with a `target` column for regression. Received "
            f"columns: {', '.join(dataset.column_names)}; load it with "
            "target=textgru.data.Numbers(column)"
        )
    targets = np.asarray(dataset["target"], dtype=np.float32)
    return _text_batches(dataset, tokenizer, targets, **options)


def multi_label_dataset(dataset, tokenizer, **options):
    """Batches of `(ids, labels)` for multi-label classification, as a
    `tf.data.Dataset`: as `classification_dataset` (the same options, but no
    class weights), with the split's `labels` column (from
    `load_dataset(..., target=MultiLabels(column))`) as float32 multi-hot `labels`
    `(batch, num_labels)`: 1 where the text has the label."""
    if "labels" not in dataset.column_names:
        raise DatasetError(
            "Expected a dataset with a `labels` column for multi-label "
            f"classification. Received columns: {', '.join(dataset.column_names)}; "
            "load it with target=textgru.data.MultiLabels(column)"
        )
    return _text_batches(dataset, tokenizer, multi_hot(dataset), **options)


def target_dataset(dataset, tokenizer, targets, **options):
    """Batches of `(ids, targets)` with any float targets per text, as a
    `tf.data.Dataset`: as `classification_dataset` (the same options, but no
    class weights), with row i of `targets` (a float32 array of one row per
    text, such as the soft labels of distillation) as each text's target."""
    targets = np.asarray(targets, np.float32)
    if len(targets) != len(dataset):
        raise InvalidArgumentError(
            f"Expected one row of `targets` per text ({len(dataset)}). Received: "
            f"{len(targets)} rows"
        )
    return _text_batches(dataset, tokenizer, targets, **options)


def multi_hot(dataset):
    """The `labels` column of a multi-label split as a float32 `(texts,
    labels)` array of 0 and 1."""
    names = dataset.features["labels"].feature.names
    table = np.zeros((len(dataset), len(names)), np.float32)
    for row, ids in enumerate(dataset["labels"]):
        table[row, ids] = 1.0
    return table


def _text_batches(
    dataset,
    tokenizer,
    targets,
    *,
    batch_size=32,
    max_length=256,
    shuffle=False,
    seed=0,
    bucket_by_length=False,
    bucket_window=32,
    pad_to_max_length=False,
    drop_remainder=False,
    class_weights=None,
):
    """The batches of `classification_dataset`, each text with its entry of
    `targets` (labels or numbers)."""
    import tensorflow as tf

    batch_size = _validation.positive_int("batch_size", batch_size)
    max_length = _validation.positive_int("max_length", max_length)
    bucket_window = _validation.positive_int("bucket_window", bucket_window)
    _check_pad(tokenizer)
    _check_nonempty(dataset)
    values, offsets = encode(dataset, tokenizer, max_length=max_length)
    count = len(dataset)
    ids = tf.RaggedTensor.from_row_splits(values, offsets, validate=False)
    labels = tf.constant(targets)
    lengths = tf.constant(np.diff(offsets).astype(np.int32))
    weights = _class_weight_table(class_weights, targets)
    # The pipeline works on row indices and gathers whole batches at once, so
    # its cost is per batch, not per text.
    rows = tf.data.Dataset.range(count)
    if shuffle:
        rows = rows.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if bucket_by_length:
        window = batch_size * bucket_window

        def sorted_batches(chunk):
            order = tf.argsort(tf.gather(lengths, chunk), stable=True)
            batches = tf.data.Dataset.from_tensor_slices(tf.gather(chunk, order))
            return batches.batch(batch_size, drop_remainder=drop_remainder)

        rows = rows.batch(window).flat_map(sorted_batches)
        if shuffle:
            rows = rows.shuffle(bucket_window, seed=seed, reshuffle_each_iteration=True)
        # Only the last window can end in a smaller batch, so the count is
        # what plain batching gives; telling tf.data lets Keras show a total.
        total = count // batch_size if drop_remainder else -(-count // batch_size)
        rows = rows.apply(tf.data.experimental.assert_cardinality(total))
    else:
        rows = rows.batch(batch_size, drop_remainder=drop_remainder)
    width = max_length if pad_to_max_length else None

    def gather(batch):
        dense = tf.gather(ids, batch).to_tensor(default_value=0, shape=[None, width])
        # A batch of only empty texts would have no time step: keep one.
        missing = tf.maximum(0, 1 - tf.shape(dense)[1])
        batch_labels = tf.gather(labels, batch)
        dense = tf.pad(dense, [[0, 0], [0, missing]])
        if weights is None:
            return dense, batch_labels
        return dense, batch_labels, tf.gather(weights, batch_labels)

    data = rows.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return data.prefetch(tf.data.AUTOTUNE)


def _class_weight_table(class_weights, labels):
    """`class_weights` as a float32 tensor with one weight per class."""
    if class_weights is None:
        return None
    import tensorflow as tf

    table = np.asarray(class_weights, np.float32)
    highest = int(np.max(labels, initial=0))
    if (
        table.ndim != 1
        or len(table) <= highest
        or not (np.isfinite(table) & (table > 0)).all()
    ):
        raise InvalidArgumentError(
            "Expected `class_weights` to be finite weights > 0, one per class "
            f"(at least {highest + 1}). Received: {class_weights!r}"
        )
    return tf.constant(table)


def language_model_dataset(
    dataset,
    tokenizer,
    *,
    seq_len=128,
    batch_size=32,
    shuffle=False,
    seed=0,
    consecutive=False,
    add_bos=False,
    add_eos=True,
    drop_remainder=False,
):
    """Batches of `(inputs, targets)` for language modelling, as a `tf.data.Dataset`.

    The texts of `dataset` are tokenized and joined into one stream (each text
    led by `[BOS]` when `add_bos` and followed by `[EOS]` when `add_eos`), cut
    into windows of `seq_len` tokens; the targets are the same windows shifted
    by one token.

    Args:
        dataset: a split with a `text` column.
        tokenizer: a `textgru.data.Tokenizer`.
        seq_len: tokens per window.
        batch_size: windows per batch (the last batch may be smaller, unless
            `consecutive`).
        shuffle: reshuffle the windows every epoch (seeded by `seed`).
        consecutive: lay the stream out as `batch_size` contiguous lanes, so
            row b of batch j+1 continues row b of batch j: what a stateful GRU
            needs to carry its state across batches. Cannot be shuffled.
        add_bos: start each text with `[BOS]` (so a model learns how texts
            begin, and generation can start from `[BOS]`).
        add_eos: end each text with `[EOS]`.
        drop_remainder: drop the last, smaller batch (consecutive batches
            are all whole).

    Returns:
        A `tf.data.Dataset` of `inputs` and `targets`, both int32
        `(batch, seq_len)`, with `targets[:, t] == inputs[:, t + 1]`
        within a window.
    """
    import tensorflow as tf

    seq_len = _validation.positive_int("seq_len", seq_len)
    batch_size = _validation.positive_int("batch_size", batch_size)
    if consecutive and shuffle:
        raise InvalidArgumentError(
            "Consecutive batches keep the stream in order and cannot be shuffled. "
            "Received: consecutive=True, shuffle=True"
        )
    _check_nonempty(dataset)
    stream, _ = encode(dataset, tokenizer, add_bos=add_bos, add_eos=add_eos)
    lane = len(stream) // batch_size if consecutive else len(stream)
    windows = (lane - 1) // seq_len
    if windows < 1:
        raise DatasetError(
            f"The split has {len(stream)} tokens, too few for "
            f"{batch_size if consecutive else 1} window(s) of {seq_len}+1 tokens; "
            "use a smaller seq_len" + (" or batch_size" if consecutive else "")
        )
    if consecutive:
        lanes = stream[: lane * batch_size].reshape(batch_size, lane)
        span = windows * seq_len
        shape = (batch_size, windows, seq_len)
        x = lanes[:, :span].reshape(shape).transpose(1, 0, 2)
        y = lanes[:, 1 : span + 1].reshape(shape).transpose(1, 0, 2)
        return tf.data.Dataset.from_tensor_slices((x, y)).prefetch(tf.data.AUTOTUNE)
    span = windows * seq_len
    x = stream[:span].reshape(windows, seq_len)
    y = stream[1 : span + 1].reshape(windows, seq_len)
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(windows, seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(
        tf.data.AUTOTUNE
    )


def _special(tokenizer, name):
    token_id = getattr(tokenizer, f"{name}_id")
    if token_id is None:
        raise DatasetError(f"The tokenizer has no [{name.upper()}] token")
    return token_id


def _check_pad(tokenizer):
    if tokenizer.pad_id != 0:
        raise DatasetError(
            "Expected a tokenizer whose [PAD] token is id 0 (padding is id 0, which "
            f"Embedding(mask_zero=True) masks). Received: pad id {tokenizer.pad_id}; "
            "train one with textgru.data.train_tokenizer"
        )


def _check_nonempty(dataset):
    if len(dataset) == 0:
        name = f" {dataset.split}" if dataset.split else ""
        raise DatasetError(f"The split{name} has no rows; nothing to batch")
