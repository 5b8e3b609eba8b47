"""Pooling over the real (unmasked) steps of a sequence."""

import keras
from keras import ops

from textgru.errors import InvalidArgumentError

MODES = ("max", "mean")


@keras.saving.register_keras_serializable(package="textgru")
class SequencePooling(keras.layers.Layer):
    """Max or mean over time of `(batch, steps, features)`, ignoring masked steps.

    `keras.layers.GlobalMaxPooling1D` ignores the mask, so padding (zeros from
    a bidirectional GRU) can win the max; this layer never looks at masked
    steps. A row whose every step is masked pools to zeros.

    Args:
        mode: `"max"` or `"mean"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a 3D tensor `(batch, steps, features)`.
        mask: an optional boolean `(batch, steps)` tensor (passed by Keras).

    Example:

    >>> x = np.array([[[1.0], [5.0], [-3.0]]], "float32")
    >>> mask = np.array([[True, False, True]])
    >>> np.asarray(SequencePooling("max")(x, mask=mask)).tolist()
    [[1.0]]
    >>> np.asarray(SequencePooling("mean")(x, mask=mask)).tolist()
    [[-1.0]]
    """

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise InvalidArgumentError(
                f"Expected `mode` to be 'max' or 'mean'. Received: mode={mode!r}"
            )
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            pool = ops.max if self.mode == "max" else ops.mean
            return pool(inputs, axis=1)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        count = ops.sum(ops.cast(keep, inputs.dtype), axis=1)
        if self.mode == "mean":
            total = ops.sum(ops.where(keep, inputs, ops.zeros_like(inputs)), axis=1)
            return total / ops.maximum(count, 1)
        lowest = ops.full_like(inputs, float("-inf"))
        highest = ops.max(ops.where(keep, inputs, lowest), axis=1)
        return ops.where(count > 0, highest, ops.zeros_like(highest))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
