"""The language model: Embedding -> stacked GRU -> logits over the vocabulary."""

import keras

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.layers import GRU, GRUCell, ReversibleEmbedding
from textgru.models.recurrent_layer import recurrent_layer


def build_language_model(
    vocab_size,
    *,
    embed_dim=128,
    units=512,
    num_layers=1,
    dropout=0.1,
    recurrent_dropout=0.0,
    tie_embeddings=False,
    reset_after=False,
    stateful=False,
    batch_size=None,
    gru_class=GRU,
    cell=GRUCell,
    cell_kwargs=None,
    name="textgru_language_model",
):
    """A Keras functional language model over token ids.

    `ReversibleEmbedding` -> dropout -> `num_layers` stacked `textgru.GRU`s
    (`return_sequences=True`) -> dropout -> logits over the vocabulary for the
    next token at every position: a `Dense` layer, or with `tie_embeddings`
    the embedding matrix itself (after a projection to `embed_dim` when
    `units` differs).

    Args:
        vocab_size: the tokenizer's vocabulary size.
        embed_dim: embedding width.
        units: GRU units per layer.
        num_layers: stacked GRU layers.
        dropout: dropout on the embeddings, between GRU layers and before the
            output.
        recurrent_dropout: the GRU's dropout on its recurrent state.
        tie_embeddings: share the input embedding with the output layer.
        reset_after: the GRU form (`False` is the textbook one).
        stateful: carry the GRU states from one batch to the next (for
            consecutive batches); needs `batch_size`.
        batch_size: fixed batch size (required when `stateful`).
        gru_class: the recurrent layer class (`keras.layers.GRU` to compare).
        cell: the cell class of each `textgru.GRU`: `GRUCell`, or your own
            (a subclass, `textgru.layers.MGUCell`, ...), made as
            `cell(units, **cell_kwargs)`.
        cell_kwargs: more keyword arguments of `cell`.
        name: the model's name.

    Returns:
        An uncompiled `keras.Model` from ids `(batch, length)` to logits
        `(batch, length, vocab_size)`.

    Example:

    >>> model = build_language_model(50, embed_dim=8, units=16)
    >>> model.predict(np.array([[4, 5, 6]]), verbose=0).shape
    (1, 3, 50)
    """
    vocab_size = _validation.positive_int("vocab_size", vocab_size)
    num_layers = _validation.positive_int("num_layers", num_layers)
    dropout = _validation.rate("dropout", dropout)
    if stateful and batch_size is None:
        raise InvalidArgumentError(
            "A stateful language model needs a fixed batch size. Received: "
            "stateful=True, batch_size=None"
        )
    ids = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="token_ids")
    embedding = ReversibleEmbedding(vocab_size, embed_dim, name="embedding")
    x = embedding(ids)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for index in range(num_layers):
        x = recurrent_layer(
            units,
            gru_class=gru_class,
            cell=cell,
            cell_kwargs=cell_kwargs,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            return_sequences=True,
            stateful=stateful,
            name=f"gru_{index}",
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    if tie_embeddings:
        if units != embed_dim:
            x = keras.layers.Dense(embed_dim, name="projection")(x)
        logits = embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name=name)
