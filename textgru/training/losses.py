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


def _class_probabilities(y_pred, num_classes):
    """A classifier head's output as `(batch, num_classes)` probabilities
    (one sigmoid unit p of two classes as (1 - p, p))."""
    if num_classes == 2:
        p = keras.ops.reshape(y_pred, (-1, 1))
        return keras.ops.concatenate([1.0 - p, p], axis=-1)
    return y_pred


@keras.saving.register_keras_serializable(package="textgru")
class DistillationLoss(keras.losses.Loss):
    """Knowledge distillation (Hinton, Vinyals & Dean 2015) for a
    `TextClassifier` head: per text, `w_soft * T^2 * KL(teacher_T ||
    student_T) + w_hard * cross-entropy(label, student)`, where `_T` are
    probabilities softened by the temperature `T` (the student's taken from
    its log-probabilities). `y_true` is `(batch, 2 * num_classes + 2)`: the
    teacher's softened probabilities, the one-hot label (zeros for a text
    with none), `w_soft` and `w_hard` (`textgru.tasks.distillation.targets`)."""

    def __init__(self, num_classes, temperature=2.0, name="distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        c, t = self.num_classes, self.temperature
        soft, hard = y_true[:, :c], y_true[:, c : 2 * c]
        w_soft, w_hard = y_true[:, 2 * c], y_true[:, 2 * c + 1]
        probabilities = _class_probabilities(y_pred, c)
        log_p = keras.ops.log(keras.ops.clip(probabilities, 1e-7, 1.0))
        log_student = keras.ops.log_softmax(log_p / t, axis=-1)
        log_teacher = keras.ops.log(keras.ops.maximum(soft, 1e-12))
        kl = keras.ops.sum(soft * (log_teacher - log_student), axis=-1) * t * t
        cross_entropy = -keras.ops.sum(hard * log_p, axis=-1)
        return w_soft * kl + w_hard * cross_entropy

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "temperature": self.temperature,
        }


@keras.saving.register_keras_serializable(package="textgru")
class DistillationAccuracy(keras.metrics.MeanMetricWrapper):
    """Accuracy against the targets of `DistillationLoss`: the label where
    a text has one, else the teacher's likeliest class."""

    def __init__(self, num_classes, name="accuracy", dtype=None):
        self.num_classes = int(num_classes)

        def agreement(y_true, y_pred):
            c = self.num_classes
            wanted = keras.ops.argmax(y_true[:, :c] + 2.0 * y_true[:, c : 2 * c], -1)
            got = keras.ops.argmax(_class_probabilities(y_pred, c), -1)
            return keras.ops.cast(keras.ops.equal(wanted, got), "float32")

        super().__init__(agreement, name=name, dtype=dtype)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype}
