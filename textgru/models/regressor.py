"""The text regressor: a `GRUBackbone`, pooling over its states, and one
linear output in the target's own units."""

import keras

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.models.adversarial import AdversarialTraining
from textgru.models.backbone import BackboneModel, GRUBackbone, make_backbone
from textgru.models.classifier import (
    CLASSIFIER_BACKBONE,
    POOLINGS,
    _classify,
    head_layers,
)


@keras.saving.register_keras_serializable(package="textgru")
class TextRegressor(BackboneModel, AdversarialTraining, keras.Model):
    """A `GRUBackbone` with a regression head, as a Keras functional model.

    Token ids `(batch, length)` (padding id 0) -> `backbone` -> pooling over
    the real tokens -> dropout -> `Dense(1)` -> `* target_scale +
    target_mean`: the head learns the standardized target and the output is
    in the target's units (an untrained model predicts about the mean).

    Args:
        backbone: a `GRUBackbone`.
        pooling: `"last"`, `"max"`, `"mean"` or `"concat"` (see
            `TextClassifier`).
        dropout: dropout rate before the head.
        target_mean: the training targets' mean.
        target_scale: their standard deviation (> 0).
        adversarial: in training, also fit each text with its embeddings
            moved up the loss gradient by this fraction of their norm (as
            `TextClassifier`; TensorFlow or JAX); 0 is off.
        **kwargs: `keras.Model` arguments (`name`, ...).

    Example:

    >>> backbone = textgru.models.GRUBackbone(100, embed_dim=8, units=4)
    >>> model = TextRegressor(backbone, target_mean=0.5, target_scale=2.0)
    >>> model.predict(np.array([[5, 6, 7, 0]]), verbose=0).shape
    (1, 1)
    """

    def __init__(
        self,
        backbone,
        *,
        pooling="max",
        dropout=0.3,
        target_mean=0.0,
        target_scale=1.0,
        adversarial=0.0,
        **kwargs,
    ):
        dropout = _validation.rate("dropout", dropout)
        adversarial = _validation.non_negative("adversarial", adversarial)
        _validation.one_of("pooling", pooling, POOLINGS)
        if not isinstance(backbone, GRUBackbone):
            raise InvalidArgumentError(
                "Expected `backbone` to be a textgru.models.GRUBackbone. Received: "
                f"{type(backbone).__name__}"
            )
        if not float(target_scale) > 0:
            raise InvalidArgumentError(
                "Expected `target_scale` to be a number > 0 (the targets' standard "
                f"deviation). Received: target_scale={target_scale!r}"
            )
        head = keras.layers.Dense(1, name="head")
        layers = head_layers(pooling, dropout, head)
        rescale = keras.layers.Rescaling(
            float(target_scale), offset=float(target_mean), name="target_units"
        )
        ids = keras.Input(batch_shape=(None, None), dtype="int32", name="token_ids")
        outputs = rescale(_classify(layers, *backbone(ids)))
        super().__init__(ids, outputs, **kwargs)
        self._head_layers, self._rescale = layers, rescale

        self.backbone = backbone
        self.head = head
        self.pooling = pooling
        self.dropout = dropout
        self.target_mean = float(target_mean)
        self.target_scale = float(target_scale)
        self.adversarial = adversarial

    def head_of(self, sequence, last, training=None):
        """Pooling, dropout, the head and the rescaling over the backbone's
        outputs."""
        return self._rescale(
            _classify(self._head_layers, sequence, last, training=training)
        )

    def layer_groups(self):
        """The weighted layers in groups, top first: the head, each GRU from
        the top down, the embedding (as `TextClassifier.layer_groups`)."""
        return [
            [self.head],
            *([layer] for layer in reversed(self.backbone.recurrent_layers)),
            [self.backbone.token_embedding],
        ]

    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "pooling": self.pooling,
            "dropout": self.dropout,
            "target_mean": self.target_mean,
            "target_scale": self.target_scale,
            "adversarial": self.adversarial,
            "name": self.name,
            "trainable": self.trainable,
        }


def build_regressor(
    vocab_size,
    *,
    pooling="max",
    dropout=0.3,
    target_mean=0.0,
    target_scale=1.0,
    adversarial=0.0,
    name="textgru_regressor",
    **backbone,
):
    """A `TextRegressor` over a new `GRUBackbone`, from sizes; `**backbone`
    as for `build_classifier` (a classifier's backbone defaults: 128 wide,
    both ways, padding masked).

    Example:

    >>> model = build_regressor(100, embed_dim=8, units=4)
    >>> model.predict(np.array([[5, 6, 7, 0]]), verbose=0).shape
    (1, 1)
    """
    defaults = {**CLASSIFIER_BACKBONE, "dropout": dropout}
    return TextRegressor(
        make_backbone(vocab_size, defaults, backbone),
        pooling=pooling,
        dropout=dropout,
        target_mean=target_mean,
        target_scale=target_scale,
        adversarial=adversarial,
        name=name,
    )
