"""The text classifier: Embedding -> stacked (bidirectional) GRU -> pooling -> head."""

import keras

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.layers import GRU, GRUCell, SequencePooling
from textgru.models.recurrent_layer import recurrent_layer

POOLINGS = ("last", "max", "mean", "concat")


def build_classifier(
    vocab_size,
    num_classes,
    *,
    embed_dim=128,
    units=128,
    num_layers=1,
    bidirectional=True,
    pooling="max",
    dropout=0.3,
    embedding_dropout=0.0,
    recurrent_dropout=0.0,
    reset_after=False,
    gru_class=GRU,
    cell=GRUCell,
    cell_kwargs=None,
    name="textgru_classifier",
):
    """A Keras functional text classifier over token ids (padding id 0).

    `Embedding(mask_zero=True)` -> `num_layers` stacked `textgru.GRU`s (each
    wrapped in `Bidirectional` if asked) -> pooling over the real tokens ->
    dropout -> `Dense`: one sigmoid unit for 2 classes (the probability of
    class 1), a softmax over the classes otherwise.

    Args:
        vocab_size: the tokenizer's vocabulary size.
        num_classes: number of classes (at least 2).
        embed_dim: embedding width.
        units: GRU units (per direction).
        num_layers: stacked GRU layers.
        bidirectional: read the text both ways.
        pooling: `"last"` (the final state), `"max"` or `"mean"` over the
            masked sequence, or `"concat"` of all three.
        dropout: dropout rate before the head and between GRU layers.
        embedding_dropout: rate of whole embedding channels dropped
            (`SpatialDropout1D`).
        recurrent_dropout: the GRU's dropout on its recurrent state.
        reset_after: the GRU form (`False` is the textbook one).
        gru_class: the recurrent layer class; `keras.layers.GRU` gives the
            same model with Keras's own GRU (for comparisons).
        cell: the cell class of each `textgru.GRU`: `GRUCell`, or your own
            (a subclass, `textgru.layers.MGUCell`, ...), made as
            `cell(units, **cell_kwargs)`.
        cell_kwargs: more keyword arguments of `cell`.
        name: the model's name.

    Returns:
        An uncompiled `keras.Model` from int ids `(batch, length)` to
        probabilities `(batch, 1)` or `(batch, num_classes)`.

    Example:

    >>> model = build_classifier(100, 3, embed_dim=8, units=4)
    >>> model.predict(np.array([[5, 6, 7, 0]]), verbose=0).shape
    (1, 3)
    """
    vocab_size = _validation.positive_int("vocab_size", vocab_size)
    num_classes = _validation.positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise InvalidArgumentError(
            f"Expected at least 2 classes. Received: num_classes={num_classes}"
        )
    num_layers = _validation.positive_int("num_layers", num_layers)
    dropout = _validation.rate("dropout", dropout)
    embedding_dropout = _validation.rate("embedding_dropout", embedding_dropout)
    if pooling not in POOLINGS:
        raise InvalidArgumentError(
            f"Expected `pooling` to be one of {', '.join(POOLINGS)}. "
            f"Received: pooling={pooling!r}"
        )

    def recurrent(return_sequences, return_state, layer_name):
        layer = recurrent_layer(
            units,
            gru_class=gru_class,
            cell=cell,
            cell_kwargs=cell_kwargs,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            return_sequences=return_sequences,
            return_state=return_state,
            name=layer_name,
        )
        if bidirectional:
            return keras.layers.Bidirectional(layer, name=f"bi_{layer_name}")
        return layer

    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")(
        ids
    )
    if embedding_dropout:
        x = keras.layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(
            x
        )
    for index in range(num_layers - 1):
        x = recurrent(True, False, f"gru_{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    top = recurrent(pooling != "last", True, f"gru_{num_layers - 1}")(x)
    sequence, states = top[0], top[1:]
    pooled = []
    if pooling in ("last", "concat"):
        last = states[0] if len(states) == 1 else keras.layers.Concatenate()(states)
        pooled.append(last)
    if pooling in ("max", "concat"):
        pooled.append(SequencePooling("max", name="max_pool")(sequence))
    if pooling in ("mean", "concat"):
        pooled.append(SequencePooling("mean", name="mean_pool")(sequence))
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pool")(pooled)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    if num_classes == 2:
        outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(x)
    else:
        outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(ids, outputs, name=name)
