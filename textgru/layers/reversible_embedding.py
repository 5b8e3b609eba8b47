"""An embedding that can also map vectors back to vocabulary logits (tied weights)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textgru")
class ReversibleEmbedding(keras.layers.Embedding):
    """`keras.layers.Embedding` whose matrix also scores the vocabulary.

    Called on ids it embeds them; called with `reverse=True` on vectors of
    width `output_dim` it returns `vectors @ embeddings.T` (+ a bias per
    token if `reverse_bias`): the language model's output layer with its
    weights tied to the input embedding (Press & Wolf, 2017), as KerasHub's
    `ReversibleEmbedding` does.

    Args:
        input_dim: vocabulary size.
        output_dim: embedding width.
        reverse_bias: learn a bias per token for the reverse direction.
        **kwargs: `keras.layers.Embedding` arguments.

    Call arguments:
        inputs: ids `(batch, ...)`, or with `reverse=True` vectors
            `(batch, ..., output_dim)`.
        reverse: score the vocabulary instead of embedding.

    Example:

    >>> layer = ReversibleEmbedding(10, 4)
    >>> vectors = layer(np.array([[1, 2, 3]]))
    >>> tuple(layer(vectors, reverse=True).shape)
    (1, 3, 10)
    """

    def __init__(self, input_dim, output_dim, reverse_bias=True, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self.reverse_bias = reverse_bias

    def build(self, input_shape=None):
        super().build(input_shape)
        if self.reverse_bias:
            self.bias = self.add_weight(
                shape=(self.input_dim,), initializer="zeros", name="reverse_bias"
            )

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        logits = ops.matmul(
            inputs, ops.transpose(ops.cast(self.embeddings, inputs.dtype))
        )
        if self.reverse_bias:
            logits = logits + ops.cast(self.bias, logits.dtype)
        return logits

    def compute_mask(self, inputs, mask=None, reverse=False):
        return None if reverse else super().compute_mask(inputs, mask)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            shape = (*inputs.shape[:-1], self.input_dim)
            return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return super().compute_output_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "reverse_bias": self.reverse_bias}
