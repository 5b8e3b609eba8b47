"""The text classifier: a `GRUBackbone`, pooling over its states, and a head."""

import keras

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.layers import GRU, GRUCell, SequencePooling
from textgru.models import adversarial as adversarial_training
from textgru.models.backbone import (
    BackboneModel,
    GRUBackbone,
    make_backbone,
    options_of,
)
from textgru.models.language_model import GRULanguageModel
from textgru.models.recurrent_layer import cell_options

POOLINGS = ("last", "max", "mean", "concat")


@keras.saving.register_keras_serializable(package="textgru")
class TextClassifier(
    BackboneModel, adversarial_training.AdversarialTraining, keras.Model
):
    """A `GRUBackbone` with a classification head, as a Keras functional model.

    Token ids `(batch, length)` (padding id 0) -> `backbone` -> pooling over
    the real tokens -> dropout -> `Dense`: one sigmoid unit for 2 classes
    (the probability of class 1), a softmax over the classes otherwise; of
    a `multi_label` classifier, one sigmoid unit per label (the probability
    that the text has it, each on its own).

    Args:
        backbone: a `GRUBackbone`.
        num_classes: number of classes (at least 2).
        pooling: `"last"` (the final state), `"max"` or `"mean"` over the
            masked sequence, or `"concat"` of all three.
        dropout: dropout rate before the head.
        adversarial: in training, also fit each text with its embeddings
            moved in the direction that raises the loss most, by this
            fraction of their L2 norm (Miyato et al., 2017; see
            `textgru.models.adversarial`; TensorFlow or JAX); 0 is off. A
            step costs about two.
        multi_label: each text may have any number of the classes (labels):
            a sigmoid per label, trained with binary cross-entropy.
        **kwargs: `keras.Model` arguments (`name`, ...).

    Call arguments:
        inputs: int token ids `(batch, length)`.
        training: whether dropout is on.
        embedding_perturbation: optional `(batch, length, embed_dim)` added
            to the embeddings (see `GRUBackbone`).

    Example:

    >>> backbone = textgru.models.GRUBackbone(100, embed_dim=8, units=4)
    >>> model = TextClassifier(backbone, num_classes=3)
    >>> model.predict(np.array([[5, 6, 7, 0]]), verbose=0).shape
    (1, 3)
    """

    def __init__(
        self,
        backbone,
        num_classes,
        *,
        pooling="max",
        dropout=0.3,
        adversarial=0.0,
        multi_label=False,
        **kwargs,
    ):
        num_classes = _validation.positive_int("num_classes", num_classes)
        if not isinstance(multi_label, bool):
            raise InvalidArgumentError(
                f"Expected `multi_label` to be True or False. Received: "
                f"multi_label={multi_label!r}"
            )
        if num_classes < 2:
            raise InvalidArgumentError(
                f"Expected at least 2 classes. Received: num_classes={num_classes}"
            )
        dropout = _validation.rate("dropout", dropout)
        adversarial = _validation.non_negative("adversarial", adversarial)
        if pooling not in POOLINGS:
            raise InvalidArgumentError(
                f"Expected `pooling` to be one of {', '.join(POOLINGS)}. "
                f"Received: pooling={pooling!r}"
            )
        if not isinstance(backbone, GRUBackbone):
            raise InvalidArgumentError(
                "Expected `backbone` to be a textgru.models.GRUBackbone. Received: "
                f"{type(backbone).__name__}"
            )
        one_each = multi_label or num_classes == 2
        head = keras.layers.Dense(
            1 if num_classes == 2 and not multi_label else num_classes,
            activation="sigmoid" if one_each else "softmax",
            name="head",
        )
        layers = head_layers(pooling, dropout, head)
        ids = keras.Input(batch_shape=(None, None), dtype="int32", name="token_ids")
        outputs = _classify(layers, *backbone(ids))
        super().__init__(ids, outputs, **kwargs)

        self.backbone = backbone
        self.head = head
        self.num_classes = num_classes
        self.pooling = pooling
        self.dropout = dropout
        self.adversarial = adversarial
        self.multi_label = multi_label
        self._head_layers = layers

    def head_of(self, sequence, last, training=None):
        """Pooling, dropout and the head over the backbone's outputs."""
        return _classify(self._head_layers, sequence, last, training=training)

    def layer_groups(self):
        """The weighted layers in groups for fine-tuning, top first: the head,
        then each GRU from the top down, then the embedding (lists of layers)."""
        backbone = self.backbone
        return [
            [self.head],
            *([layer] for layer in reversed(backbone.recurrent_layers)),
            [backbone.token_embedding],
        ]

    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "adversarial": self.adversarial,
            "multi_label": self.multi_label,
            "name": self.name,
            "trainable": self.trainable,
        }


def head_layers(pooling, dropout, head):
    """The layers between a backbone and its task's `head` layer (pooling
    over the states, dropout), as a tuple for `_classify`; kept as
    attributes of the model so tasks reach them by name."""
    poolers = []
    if pooling in ("max", "concat"):
        poolers.append(SequencePooling("max", name="max_pool"))
    if pooling in ("mean", "concat"):
        poolers.append(SequencePooling("mean", name="mean_pool"))
    return (
        pooling,
        poolers,
        keras.layers.Concatenate(name="pool"),
        keras.layers.Dropout(dropout, name="head_dropout") if dropout else None,
        head,
    )


def _classify(layers, sequence, last, training=None):
    """Pooling, dropout and the head over the backbone's outputs."""
    pooling, poolers, concatenate, dropout, head = layers
    pooled = [last] if pooling in ("last", "concat") else []
    pooled += [pool(sequence) for pool in poolers]
    x = pooled[0] if len(pooled) == 1 else concatenate(pooled)
    if dropout is not None:
        x = dropout(x, training=training)
    return head(x)


# A classifier's backbone unless the caller says otherwise: padding masked,
# whole embedding channels dropped, read both ways.
CLASSIFIER_BACKBONE = {
    "bidirectional": True,
    "mask_zero": True,
    "embedding_dropout_mode": "channels",
}


def build_classifier(
    vocab_size,
    num_classes,
    *,
    pooling="max",
    dropout=0.3,
    adversarial=0.0,
    multi_label=False,
    name="textgru_classifier",
    **backbone,
):
    """A `TextClassifier` over a new `GRUBackbone`, from sizes.

    `Embedding(mask_zero=True)` -> `num_layers` stacked `textgru.GRU`s (each
    wrapped in `Bidirectional` if asked) -> pooling over the real tokens ->
    dropout -> `Dense`.

    Args:
        vocab_size: the tokenizer's vocabulary size.
        num_classes: number of classes (at least 2).
        pooling: `"last"` (the final state), `"max"` or `"mean"` over the
            masked sequence, or `"concat"` of all three.
        dropout: dropout rate before the head, and the backbone's between
            GRU layers.
        adversarial: size of the adversarial perturbation of the embeddings
            in training, relative to their norm (see `TextClassifier`); 0 is
            off.
        multi_label: one sigmoid per class, each text may have any number
            of them (see `TextClassifier`).
        name: the model's name.
        **backbone: the `GRUBackbone`'s arguments (`embed_dim`, `units`,
            `num_layers`, `bidirectional`, `embedding_dropout`,
            `word_dropout`, `recurrent_dropout`, `reset_after`, `gru_class`,
            `cell`, `cell_kwargs`, ...; see `GRUBackbone`), over a
            classifier's defaults (`CLASSIFIER_BACKBONE`: 128 wide, both
            ways, padding masked, whole embedding channels dropped).

    Returns:
        An uncompiled `TextClassifier` from int ids `(batch, length)` to
        probabilities `(batch, 1)` or `(batch, num_classes)` (of a
        `multi_label` one, `(batch, num_classes)` each in [0, 1] on its own).

    Example:

    >>> model = build_classifier(100, 3, embed_dim=8, units=4)
    >>> model.predict(np.array([[5, 6, 7, 0]]), verbose=0).shape
    (1, 3)
    """
    defaults = {**CLASSIFIER_BACKBONE, "dropout": dropout}
    return TextClassifier(
        make_backbone(vocab_size, defaults, backbone),
        num_classes,
        pooling=pooling,
        dropout=dropout,
        adversarial=adversarial,
        multi_label=multi_label,
        name=name,
    )


def classifier_from_lm(
    language_model,
    num_classes,
    *,
    pooling="concat",
    dropout=0.4,
    embedding_dropout=0.1,
    word_dropout=0.0,
    adversarial=0.0,
    name="textgru_classifier",
):
    """A text classifier whose embedding and GRU stack are the language model's.

    The classifier's backbone has the language model's sizes and cell (class
    and arguments), reads one way (as the language model does) and starts
    from a copy of its weights (the two models share no variables, so
    fine-tuning the classifier leaves the language model as it was). Token
    ids mean the same in both, so the classifier takes the language model's
    tokenizer. The new head pools the states: by default the concatenation
    of the last state and the max and mean over the real tokens, as in ULMFiT.

    Args:
        language_model: a `GRULanguageModel` (for example
            `LanguageModelRun.load(path).model`).
        num_classes: number of classes (at least 2).
        pooling: `"concat"` (last, max and mean), `"last"`, `"max"` or `"mean"`.
        dropout: dropout rate between GRU layers and before the head.
        embedding_dropout: rate of whole embedding channels dropped.
        word_dropout: rate of whole tokens dropped in training.
        adversarial: size of the adversarial perturbation of the embeddings
            in training, relative to their norm (see `TextClassifier`); 0 is
            off.
        multi_label: one sigmoid per class, each text may have any number
            of them (see `TextClassifier`).
        name: the model's name.

    Returns:
        An uncompiled `TextClassifier`.

    Example:

    >>> lm = textgru.models.build_language_model(60, units=16, num_layers=2)
    >>> model = classifier_from_lm(lm, num_classes=3)
    >>> model.predict(np.array([[4, 5, 6, 0]]), verbose=0).shape
    (1, 3)
    """
    if not isinstance(language_model, GRULanguageModel):
        raise InvalidArgumentError(
            "Expected a language model with a one-way GRUBackbone (a "
            "GRULanguageModel, as build_language_model makes). Received: "
            f"{language_model.name!r} ({type(language_model).__name__})"
        )
    source = language_model.backbone
    # The language model's sizes, GRU and cell; how a classifier reads.
    options = options_of(source)
    if source.gru_class is GRU and source.cell_class is not GRUCell:
        # The language model's own cell, with the arguments it was made with.
        options["cell"], options["cell_kwargs"] = cell_options(
            source.recurrent_layers[0].cell
        )
    options.update(
        bidirectional=False,
        mask_zero=True,
        embedding_dropout=embedding_dropout,
        embedding_dropout_mode="channels",
        word_dropout=word_dropout,
        stateful=False,
    )
    classifier = build_classifier(
        source.vocab_size,
        num_classes,
        pooling=pooling,
        dropout=dropout,
        adversarial=adversarial,
        name=name,
        **{k: v for k, v in options.items() if k != "dropout"},
    )
    target = classifier.backbone
    target.token_embedding.set_weights(source.token_embedding.get_weights())
    for mine, theirs in zip(
        target.recurrent_layers, source.recurrent_layers, strict=True
    ):
        mine.set_weights(theirs.get_weights())
    return classifier
