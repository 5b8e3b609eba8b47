"""The network every textgru model shares: token ids -> embedding -> stacked GRUs."""

import functools
import inspect

import keras

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.layers import GRU, GRUCell, ReversibleEmbedding
from textgru.models.recurrent_layer import recurrent_layer

# The recurrent layer classes a backbone can stack, by the name its config keeps.
GRU_CLASSES = {"textgru": GRU, "keras": keras.layers.GRU}


# The embedding's and each GRU direction's width unless told otherwise (the
# one place it is declared: `ModelConfig` and the model builders take it).
WIDTH = 128


@keras.saving.register_keras_serializable(package="textgru")
class GRUBackbone(keras.layers.Layer):
    """Token ids to per-token states: an embedding and a stack of GRUs.

    The part of a model that transfers: the classifier, the language model,
    transfer from one to the other, generation, gate inspection and the
    discriminative optimizer all reach its parts by attribute
    (`token_embedding`, `recurrent_layers`), never by layer name. Task heads
    (`TextClassifier`, `GRULanguageModel`) sit on top of it.

    `ReversibleEmbedding` (so a language model can tie its output to it) ->
    embedding dropout -> `num_layers` GRUs, each returning every state, with
    `dropout` between them. The top GRU also returns its final state(s).

    Args:
        vocab_size: the tokenizer's vocabulary size.
        embed_dim: embedding width.
        units: GRU units (per direction).
        num_layers: stacked GRU layers.
        bidirectional: wrap each GRU in `Bidirectional` (concatenated).
        mask_zero: id 0 is padding, masked in the GRUs and in pooling.
        embedding_dropout: dropout rate on the embeddings.
        embedding_dropout_mode: `"channels"` drops whole embedding channels
            of a text (`SpatialDropout1D`), `"elements"` single values
            (`Dropout`).
        word_dropout: rate of whole tokens dropped in training (their
            vectors set to zero), before `embedding_dropout`.
        dropout: dropout rate between GRU layers.
        recurrent_dropout: the GRUs' dropout on the recurrent state.
        reset_after: the GRU form (`False` is the textbook one).
        gru_class: `textgru.GRU`, or `keras.layers.GRU` (for comparisons).
        cell: the cell class of each `textgru.GRU`: `GRUCell` or your own
            (registered with Keras), made as `cell(units, **cell_kwargs)`.
        cell_kwargs: more keyword arguments of `cell`.
        stateful: carry the GRU states from one batch to the next.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        token_ids: int ids `(batch, length)`.
        training: whether dropout is on.
        embedding_perturbation: optional `(batch, length, embed_dim)` added to
            the embeddings after their dropout, where the first GRU reads
            them (adversarial training, `TextClassifier(adversarial=...)`).

    Returns `(sequence, last_state)`: every state of the top GRU
    `(batch, length, units * directions)` and its final state(s)
    `(batch, units * directions)`.

    Example:

    >>> backbone = GRUBackbone(100, embed_dim=8, units=4, bidirectional=True)
    >>> sequence, last = backbone(np.array([[5, 6, 7, 0]]))
    >>> tuple(sequence.shape), tuple(last.shape)
    ((1, 4, 8), (1, 8))
    """

    def __init__(
        self,
        vocab_size,
        *,
        embed_dim=WIDTH,
        units=WIDTH,
        num_layers=1,
        bidirectional=False,
        mask_zero=True,
        embedding_dropout=0.0,
        embedding_dropout_mode="channels",
        word_dropout=0.0,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=False,
        gru_class=GRU,
        cell=GRUCell,
        cell_kwargs=None,
        stateful=False,
        **kwargs,
    ):
        kwargs.setdefault("name", "backbone")
        super().__init__(**kwargs)
        self.vocab_size = _validation.positive_int("vocab_size", vocab_size)
        self.embed_dim = _validation.positive_int("embed_dim", embed_dim)
        self.units = _validation.positive_int("units", units)
        self.num_layers = _validation.positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.mask_zero = bool(mask_zero)
        self.embedding_dropout = _validation.rate(
            "embedding_dropout", embedding_dropout
        )
        if embedding_dropout_mode not in ("channels", "elements"):
            raise InvalidArgumentError(
                "Expected `embedding_dropout_mode` to be channels or elements. "
                f"Received: embedding_dropout_mode={embedding_dropout_mode!r}"
            )
        self.embedding_dropout_mode = embedding_dropout_mode
        self.word_dropout = _validation.rate("word_dropout", word_dropout)
        self.dropout = _validation.rate("dropout", dropout)
        self.recurrent_dropout = recurrent_dropout
        self.reset_after = bool(reset_after)
        self.gru_class = _gru_class(gru_class)
        self.cell_class = _cell_class(cell)
        self.cell_kwargs = dict(cell_kwargs or {})
        self.stateful = bool(stateful)

        self.token_embedding = ReversibleEmbedding(
            vocab_size, embed_dim, mask_zero=self.mask_zero, name="embedding"
        )
        self.word_dropout_layer = None
        if self.word_dropout:
            self.word_dropout_layer = keras.layers.Dropout(
                self.word_dropout, noise_shape=(None, None, 1), name="word_dropout"
            )
        self.embedding_dropout_layer = None
        if self.embedding_dropout:
            kind = (
                keras.layers.SpatialDropout1D
                if embedding_dropout_mode == "channels"
                else keras.layers.Dropout
            )
            self.embedding_dropout_layer = kind(
                self.embedding_dropout, name="embedding_dropout"
            )
        self.recurrent_layers = [
            self._recurrent(index) for index in range(self.num_layers)
        ]
        self.dropout_layers = [
            keras.layers.Dropout(self.dropout, name=f"dropout_{index}")
            for index in range(self.num_layers - 1)
            if self.dropout
        ]

    def _recurrent(self, index):
        top = index == self.num_layers - 1
        layer = recurrent_layer(
            self.units,
            gru_class=self.gru_class,
            cell=self.cell_class,
            cell_kwargs=self.cell_kwargs,
            recurrent_dropout=self.recurrent_dropout,
            reset_after=self.reset_after,
            return_sequences=True,
            return_state=top,
            stateful=self.stateful,
            name=f"gru_{index}",
        )
        if self.bidirectional:
            return keras.layers.Bidirectional(layer, name=f"bi_gru_{index}")
        return layer

    @property
    def directions(self):
        return 2 if self.bidirectional else 1

    @property
    def output_units(self):
        """The width of every state the backbone returns."""
        return self.units * self.directions

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.token_embedding.build(shape)
        x = (*shape, self.embed_dim)
        for layer in self.recurrent_layers:
            layer.build(x)
            x = (*shape, self.output_units)
        self.built = True

    def call(self, token_ids, training=None, embedding_perturbation=None):
        mask = self.token_embedding.compute_mask(token_ids)
        x = self.token_embedding(token_ids)
        if self.word_dropout_layer is not None:
            x = self.word_dropout_layer(x, training=training)
        if self.embedding_dropout_layer is not None:
            x = self.embedding_dropout_layer(x, training=training)
        if embedding_perturbation is not None:
            x = x + embedding_perturbation
        for index, layer in enumerate(self.recurrent_layers):
            if index:
                if self.dropout_layers:
                    x = self.dropout_layers[index - 1](x, training=training)
            outputs = layer(x, mask=mask, training=training)
            x = outputs[0] if index == self.num_layers - 1 else outputs
        states = outputs[1:]
        last = states[0] if len(states) == 1 else keras.ops.concatenate(states, -1)
        return x, last

    def compute_mask(self, token_ids, mask=None):
        return [self.token_embedding.compute_mask(token_ids), None]

    def compute_output_spec(
        self, token_ids, training=None, embedding_perturbation=None
    ):
        batch, length = token_ids.shape
        return (
            keras.KerasTensor((batch, length, self.output_units), self.compute_dtype),
            keras.KerasTensor((batch, self.output_units), self.compute_dtype),
        )

    def reset_states(self):
        """Zero the states of stateful GRUs (a language model reading a new stream)."""
        for layer in self.recurrent_layers:
            for part in _directions(layer):
                if part.stateful:
                    part.reset_state()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "embed_dim": self.embed_dim,
                "units": self.units,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "mask_zero": self.mask_zero,
                "embedding_dropout": self.embedding_dropout,
                "embedding_dropout_mode": self.embedding_dropout_mode,
                "word_dropout": self.word_dropout,
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "reset_after": self.reset_after,
                "gru_class": next(
                    name for name, cls in GRU_CLASSES.items() if cls is self.gru_class
                ),
                "cell": keras.saving.get_registered_name(self.cell_class),
                "cell_kwargs": dict(self.cell_kwargs),
                "stateful": self.stateful,
            }
        )
        return config


@functools.cache
def backbone_arguments():
    """The names of `GRUBackbone`'s own arguments (after `vocab_size`): the
    one list of them, read from its signature."""
    parameters = list(inspect.signature(GRUBackbone.__init__).parameters.values())
    return tuple(p.name for p in parameters[2:] if p.kind is p.KEYWORD_ONLY)


class BackboneModel:
    """What a model over a `GRUBackbone` (`TextClassifier`, `TextRegressor`,
    `GRULanguageModel`) shares: its config holds the backbone serialized,
    made a layer again by `from_config`. Put first among the bases."""

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


def make_backbone(vocab_size, defaults, options):
    """A `GRUBackbone` from a model builder's `defaults` overridden by the
    caller's `options` (the builders' `**backbone`), an unknown name refused
    in one line."""
    unknown = sorted(set(options) - set(backbone_arguments()))
    if unknown:
        raise InvalidArgumentError(
            f"Expected GRUBackbone arguments ({', '.join(backbone_arguments())}). "
            f"Received: {', '.join(unknown)}"
        )
    return GRUBackbone(vocab_size, **{**defaults, **options})


def options_of(backbone):
    """The arguments that make a `GRUBackbone` like `backbone` (from its
    config), for a model made from another's."""
    config = backbone.get_config()
    return {name: config[name] for name in backbone_arguments() if name in config}


def _directions(layer):
    if hasattr(layer, "forward_layer"):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def _gru_class(value):
    if isinstance(value, str):
        if value not in GRU_CLASSES:
            raise InvalidArgumentError(
                f"Expected `gru_class` to be one of {', '.join(GRU_CLASSES)}. "
                f"Received: gru_class={value!r}"
            )
        return GRU_CLASSES[value]
    if value not in GRU_CLASSES.values():
        raise InvalidArgumentError(
            "Expected `gru_class` to be textgru.GRU or keras.layers.GRU. "
            f"Received: gru_class={value!r}"
        )
    return value


def _cell_class(value):
    if isinstance(value, str):
        found = keras.saving.get_registered_object(value)
        if found is None:
            raise InvalidArgumentError(
                f"The cell {value!r} is not registered with Keras; import the module "
                "that defines it before loading the model"
            )
        return found
    return value
