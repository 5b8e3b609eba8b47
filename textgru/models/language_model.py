"""The language model: a `GRUBackbone` and logits over the vocabulary."""

import keras

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.models.backbone import BackboneModel, GRUBackbone, make_backbone


@keras.saving.register_keras_serializable(package="textgru")
class GRULanguageModel(BackboneModel, keras.Model):
    """A one-way `GRUBackbone` with a next-token head, as a functional model.

    Token ids `(batch, length)` -> `backbone` -> dropout -> logits over the
    vocabulary for the next token at every position: a `Dense` layer
    (`logits`), or with `tie_embeddings` the backbone's embedding matrix
    itself (after a `projection` to `embed_dim` when `units` differs).

    Args:
        backbone: a one-way `GRUBackbone`.
        dropout: dropout rate before the output.
        tie_embeddings: share the input embedding with the output layer.
        batch_size: fixed batch size (required when the backbone is stateful).
        **kwargs: `keras.Model` arguments (`name`, ...).

    Example:

    >>> backbone = textgru.models.GRUBackbone(50, embed_dim=8, units=16)
    >>> model = GRULanguageModel(backbone)
    >>> model.predict(np.array([[4, 5, 6]]), verbose=0).shape
    (1, 3, 50)
    """

    def __init__(
        self, backbone, *, dropout=0.1, tie_embeddings=False, batch_size=None, **kwargs
    ):
        if not isinstance(backbone, GRUBackbone) or backbone.bidirectional:
            raise InvalidArgumentError(
                "Expected `backbone` to be a one-way textgru.models.GRUBackbone. "
                f"Received: {type(backbone).__name__}"
            )
        dropout = _validation.rate("dropout", dropout)
        if backbone.stateful and batch_size is None:
            raise InvalidArgumentError(
                "A stateful language model needs a fixed batch size. Received: "
                "stateful=True, batch_size=None"
            )
        projection = logits = None
        if tie_embeddings and backbone.units != backbone.embed_dim:
            projection = keras.layers.Dense(backbone.embed_dim, name="projection")
        if not tie_embeddings:
            logits = keras.layers.Dense(backbone.vocab_size, name="logits")

        ids = keras.Input(
            batch_shape=(batch_size, None), dtype="int32", name="token_ids"
        )
        x, _ = backbone(ids)
        if dropout:
            x = keras.layers.Dropout(dropout, name="output_dropout")(x)
        if projection is not None:
            x = projection(x)
        if logits is None:
            outputs = backbone.token_embedding(x, reverse=True)
        else:
            outputs = logits(x)
        super().__init__(ids, outputs, **kwargs)

        self.backbone = backbone
        self.projection = projection
        self.logits = logits
        self.dropout = dropout
        self.tie_embeddings = bool(tie_embeddings)
        self.batch_size = batch_size

    def next_token_logits(self, states):
        """Logits `(batch, vocab_size)` from top-GRU states `(batch, units)`."""
        x = states if self.projection is None else self.projection(states)
        if self.logits is None:
            return self.backbone.token_embedding(x, reverse=True)
        return self.logits(x)

    def reset_states(self):
        """Zero the GRU states of a stateful model (a new stream starts)."""
        self.backbone.reset_states()

    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "dropout": self.dropout,
            "tie_embeddings": self.tie_embeddings,
            "batch_size": self.batch_size,
            "name": self.name,
            "trainable": self.trainable,
        }


# A language model's backbone unless the caller says otherwise: one way, no
# padding mask (windows of running text), dropout on single values.
LANGUAGE_MODEL_BACKBONE = {
    "units": 512,
    "mask_zero": False,
    "embedding_dropout_mode": "elements",
}


def build_language_model(
    vocab_size,
    *,
    dropout=0.1,
    tie_embeddings=False,
    stateful=False,
    batch_size=None,
    name="textgru_language_model",
    **backbone,
):
    """A `GRULanguageModel` over a new one-way `GRUBackbone`, from sizes.

    Embedding -> dropout -> `num_layers` stacked `textgru.GRU`s with dropout
    between them -> dropout -> logits over the vocabulary.

    Args:
        vocab_size: the tokenizer's vocabulary size.
        dropout: dropout on the embeddings, between GRU layers and before the
            output.
        tie_embeddings: share the input embedding with the output layer.
        stateful: carry the GRU states from one batch to the next (for
            consecutive batches); needs `batch_size`.
        batch_size: fixed batch size (required when `stateful`).
        name: the model's name.
        **backbone: the `GRUBackbone`'s arguments (`embed_dim`, `units`,
            `num_layers`, `recurrent_dropout`, `reset_after`, `gru_class`,
            `cell`, `cell_kwargs`, ...; see `GRUBackbone`), over a language
            model's defaults (`LANGUAGE_MODEL_BACKBONE`: 128-wide embedding,
            512 units, no padding mask).

    Returns:
        An uncompiled `GRULanguageModel` from ids `(batch, length)` to logits
        `(batch, length, vocab_size)`.

    Example:

    >>> model = build_language_model(50, embed_dim=8, units=16)
    >>> model.predict(np.array([[4, 5, 6]]), verbose=0).shape
    (1, 3, 50)
    """
    if stateful and batch_size is None:
        raise InvalidArgumentError(
            "A stateful language model needs a fixed batch size. Received: "
            "stateful=True, batch_size=None"
        )
    defaults = {
        **LANGUAGE_MODEL_BACKBONE,
        "embedding_dropout": dropout,
        "dropout": dropout,
        "stateful": stateful,
    }
    return GRULanguageModel(
        make_backbone(vocab_size, defaults, backbone),
        dropout=dropout,
        tie_embeddings=tie_embeddings,
        batch_size=batch_size,
        name=name,
    )
