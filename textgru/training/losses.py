"""Classification losses with label smoothing for either head."""

import keras


@keras.saving.register_keras_serializable(package="textgru")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against softmax probabilities, each
    label taken as `1 - label_smoothing` on its class and the rest spread
    evenly over all classes (as `keras.losses.CategoricalCrossentropy`
    smooths one-hot labels); `label_smoothing=0` is
    `SparseCategoricalCrossentropy`."""

    def __init__(
        self, label_smoothing=0.0, name="smoothed_sparse_crossentropy", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        classes = keras.ops.shape(y_pred)[-1]
        labels = keras.ops.reshape(
            keras.ops.cast(y_true, "int32"), keras.ops.shape(y_pred)[:-1]
        )
        return keras.losses.categorical_crossentropy(
            keras.ops.one_hot(labels, classes, dtype=y_pred.dtype),
            y_pred,
            label_smoothing=self.label_smoothing,
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def classification_loss(num_classes, label_smoothing=0.0):
    """The loss of a `TextClassifier` head: binary cross-entropy on its one
    sigmoid unit for 2 classes, cross-entropy of integer labels on its softmax
    otherwise, with labels smoothed by `label_smoothing`."""
    if num_classes == 2:
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    if label_smoothing:
        return SmoothedSparseCrossentropy(label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy()
