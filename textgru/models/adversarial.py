"""Adversarial training on the word embeddings (Miyato, Dai & Goodfellow,
2017, "Adversarial Training Methods for Semi-Supervised Text Classification").

Each training step computes the loss on the batch, the gradient of that loss
with respect to the embeddings the first GRU reads, and the perturbation along
that gradient (the direction in which the loss rises fastest, to first order)
whose L2 norm is `epsilon` times that of the text's own embeddings. The step
then minimises the clean loss plus the loss on the perturbed embeddings. It
costs about two ordinary steps.

The paper normalizes the embeddings so that a fixed norm means the same all
through training; here the norm is relative to the embeddings instead, with
the same effect and no change to the model.
"""

import keras

from textgru.errors import InvalidArgumentError


def adversarial_perturbation(gradient, embeddings, epsilon):
    """`epsilon * ||e|| * g / ||g||` per text: to first order, the
    perturbation that raises the loss most among those of L2 norm `epsilon`
    times the norm of the text's embeddings `e`, for the gradient `g` of the
    loss with respect to them; both `(batch, length, embed_dim)`, `e` zero
    at padding. A text whose gradient is zero gets zero. No gradient flows
    through the result."""
    gradient = keras.ops.stop_gradient(gradient)
    size = epsilon * _norm(keras.ops.stop_gradient(embeddings))
    return size * gradient / keras.ops.maximum(_norm(gradient), 1e-12)


def _norm(x):
    return keras.ops.sqrt(
        keras.ops.sum(keras.ops.square(x), axis=(1, 2), keepdims=True)
    )


BACKENDS = ("tensorflow", "jax")


def check_backend(epsilon):
    """Adversarial training has a train step for TensorFlow and JAX."""
    backend = keras.backend.backend()
    if epsilon and backend not in BACKENDS:
        raise InvalidArgumentError(
            f"Adversarial training (adversarial={epsilon}) runs on the TensorFlow "
            f"and JAX backends; this process runs {backend}. Set KERAS_BACKEND="
            "tensorflow or jax, or train with adversarial=0"
        )


class AdversarialTraining:
    """What a Keras model over a `GRUBackbone` needs for adversarial
    training (mixed in before `keras.Model`): a call that hands an
    `embedding_perturbation` to its `backbone` and goes on through the
    model's own `head_of(sequence, last, training)`, and a `train_step`
    that adds the loss on perturbed embeddings when its `adversarial` is
    above 0."""

    def call(self, inputs, training=None, mask=None, embedding_perturbation=None):
        if embedding_perturbation is None:
            return super().call(inputs, training=training, mask=mask)
        # The same graph as the functional one, with the perturbation
        # passed to the backbone.
        sequence, last = self.backbone(
            inputs, training=training, embedding_perturbation=embedding_perturbation
        )
        return self.head_of(sequence, last, training)

    def train_step(self, *args, **kwargs):
        if not self.adversarial:
            return super().train_step(*args, **kwargs)
        return train_step(self, *args, **kwargs)


def train_step(model, *args):
    """One adversarial training step of `model` (an `AdversarialTraining`
    model with `adversarial > 0`), in the shape of Keras's own `train_step` of the
    backend (`data` on TensorFlow, `state, data` on JAX): losses, metrics and
    the optimizer as it does them; the reported loss and metrics are the
    clean batch's."""
    check_backend(model.adversarial)
    if keras.backend.backend() == "jax":
        return _jax_step(model, *args)
    return _tensorflow_step(model, *args)


def _tensorflow_step(model, data):
    import tensorflow as tf

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    weights = model.trainable_weights
    embedding = model.backbone.token_embedding
    embeddings = embedding(x) * tf.cast(x != 0, embedding.compute_dtype)[..., None]
    zeros = tf.zeros_like(embeddings)

    def loss_of(perturbation):
        y_pred = model(x, training=True, embedding_perturbation=perturbation)
        loss = model.compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
        return y_pred, loss

    with tf.GradientTape() as tape:
        tape.watch(zeros)
        y_pred, loss = loss_of(zeros)
        model._loss_tracker.update_state(
            keras.src.losses.loss.unscale_loss_for_distribution(loss),
            sample_weight=tf.shape(x)[0],
        )
        scaled = model.optimizer.scale_loss(loss)
    *clean, to_embeddings = tape.gradient(scaled, [*weights, zeros])
    perturbation = adversarial_perturbation(
        to_embeddings, embeddings, model.adversarial
    )
    with tf.GradientTape() as tape:
        _, adversarial_loss = loss_of(perturbation)
        scaled = model.optimizer.scale_loss(adversarial_loss)
    adversarial = tape.gradient(scaled, weights)
    gradients = [_add(a, b) for a, b in zip(clean, adversarial, strict=True)]
    model.optimizer.apply_gradients(zip(gradients, weights, strict=True))
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _add(a, b):
    """The sum of two gradients of one variable (None, dense or, for an
    embedding, `tf.IndexedSlices`: their rows joined)."""
    import tensorflow as tf

    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, tf.IndexedSlices) and isinstance(b, tf.IndexedSlices):
        return tf.IndexedSlices(
            tf.concat([a.values, b.values], 0),
            tf.concat([a.indices, b.indices], 0),
            a.dense_shape,
        )
    return tf.convert_to_tensor(a) + tf.convert_to_tensor(b)


def _jax_step(model, state, data):
    import jax
    import jax.numpy as jnp

    trainable, non_trainable, optimizer_variables, metrics_variables = state
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    table = model.backbone.token_embedding.embeddings
    index = next(i for i, v in enumerate(model.trainable_variables) if v is table)
    table = trainable[index]
    embeddings = jnp.take(table, x, axis=0) * (x != 0)[..., None].astype(table.dtype)

    def loss_of(trainable, perturbation, non_trainable, metrics_variables):
        y_pred, non_trainable = model.stateless_call(
            trainable,
            non_trainable,
            x,
            training=True,
            embedding_perturbation=perturbation,
        )
        loss, (_, non_trainable, metrics_variables) = model.stateless_compute_loss(
            trainable,
            non_trainable,
            metrics_variables,
            x=x,
            y=y,
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=True,
        )
        return loss, (y_pred, non_trainable, metrics_variables)

    grad = jax.value_and_grad(loss_of, argnums=(0, 1), has_aux=True)
    (loss, (y_pred, non_trainable, metrics_variables)), (clean, to_embeddings) = grad(
        trainable, jnp.zeros_like(embeddings), non_trainable, metrics_variables
    )
    perturbation = adversarial_perturbation(
        to_embeddings, embeddings, model.adversarial
    )
    (_, (_, non_trainable, _)), (adversarial, _) = grad(
        trainable, perturbation, non_trainable, metrics_variables
    )
    gradients = jax.tree.map(jnp.add, clean, adversarial)
    trainable, optimizer_variables = model.optimizer.stateless_apply(
        optimizer_variables, gradients, trainable
    )
    logs, metrics_variables = model._update_metrics_variables(
        metrics_variables, loss, x, y, y_pred, sample_weight
    )
    return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)
