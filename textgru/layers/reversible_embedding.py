"""An embedding that can also map vectors back to vocabulary logits (tied weights)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textgru")
class ReversibleEmbedding(keras.layers.Embedding):
    """`keras.layers.Embedding` whose matrix also scores the vocabulary.

    Called on ids it embeds them; called with `reverse=True` on vectors of
    width `output_dim` it returns `vectors @ embeddings.T`: a language model's
    output layer with its weights tied to the input embedding (Press & Wolf,
    2017; GPT-2 does the same, without an output bias), as KerasHub's
    `ReversibleEmbedding`. It has no weights beyond the embedding matrix, so
    it saves and loads exactly as `keras.layers.Embedding`.

    Args:
        input_dim: vocabulary size.
        output_dim: embedding width.
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

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        embeddings = ops.cast(self.embeddings, inputs.dtype)
        return ops.matmul(inputs, ops.transpose(embeddings))

    def compute_mask(self, inputs, mask=None, reverse=False):
        return None if reverse else super().compute_mask(inputs, mask)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            shape = (*inputs.shape[:-1], self.input_dim)
            return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return super().compute_output_spec(inputs)
