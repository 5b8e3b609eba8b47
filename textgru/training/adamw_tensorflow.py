"""AdamW's update of all of a model's variables on TensorFlow, as one XLA
computation (`FusedUpdate`).

`keras.optimizers.AdamW` updates each variable in about a dozen separate
TensorFlow operations (clip the gradient to its norm, decay the weights, the
two moments, the step), each a pass over the whole variable that writes a
new tensor. For a 20,000-word embedding that is a quarter of a training step
of the sentiment recipe, most of it memory traffic. `FusedUpdate` runs the
same arithmetic as one XLA-compiled function over every variable, which
fuses the passes and updates the variables in place.

A sparse gradient (an embedding's: one slice per token of the batch) is made
dense before, by TensorFlow: the number of slices changes with each batch's
shape, and XLA would compile the update again for each.

The sums it takes (the gradient's norm, the rows of a sparse gradient) are
added in another order than Keras's, so the results agree with Keras's to
float rounding, not bit for bit.
"""

import tensorflow as tf


class FusedUpdate:
    """One AdamW step of many variables, as `keras.optimizers.AdamW` computes
    it, in one XLA-compiled call.

    The compiled function is traced for the variables it is given, which it
    keeps by identity: one `FusedUpdate` belongs to one optimizer, which holds
    its variables for as long as it lives.
    """

    def __init__(self):
        self._update = tf.function(_update, jit_compile=True, autograph=False)

    def __call__(
        self,
        variables,
        momenta,
        velocities,
        gradients,
        *,
        iterations,
        learning_rates,
        weight_decays,
        decay_learning_rate,
        beta_1,
        beta_2,
        epsilon,
        clipnorm=None,
    ):
        """Update `variables`, `momenta` and `velocities` (lists of
        `tf.Variable`s, one shape per index) in place.

        Args:
            gradients: tensors, or `tf.IndexedSlices` (an embedding's).
            iterations: the optimizer's step count before this step.
            learning_rates: each variable's learning rate (scalar tensors).
            weight_decays: each variable's weight decay, or None for none:
                the variable first loses `variable * weight_decay *
                decay_learning_rate`, as in `keras.optimizers.AdamW`.
            beta_1, beta_2, epsilon: Adam's constants (Python floats).
            clipnorm: with a float, each gradient is first scaled to a norm
                of at most `clipnorm`, as Keras's `clipnorm` does.
        """
        gradients, squares = zip(*(_dense(g) for g in gradients), strict=True)
        self._update(
            list(variables),
            list(momenta),
            list(velocities),
            list(gradients),
            list(squares),
            tf.convert_to_tensor(iterations),
            [tf.convert_to_tensor(r) for r in learning_rates],
            [None if d is None else (d, tf.convert_to_tensor(decay_learning_rate))
             for d in weight_decays],
            (beta_1, beta_2, epsilon),
            clipnorm,
        )  # fmt: skip


def _dense(gradient):
    """`(gradient, squared)`: a dense gradient and None; a sparse one, dense,
    and the squares of its slices, added per row. Keras squares a sparse
    gradient slice by slice, then adds the slices of a repeated row: its
    second moment takes the sum of the squares there, not the square of the
    sum, and its `clipnorm` the norm of the slices. Kept, so that the numbers
    stay Keras's."""
    if not isinstance(gradient, tf.IndexedSlices):
        return gradient, None
    rows = gradient.dense_shape[0]
    return (
        tf.math.unsorted_segment_sum(gradient.values, gradient.indices, rows),
        tf.math.unsorted_segment_sum(
            tf.square(gradient.values), gradient.indices, rows
        ),
    )


def _update(
    variables, momenta, velocities, gradients, squares, iterations, rates, decays,
    constants, clipnorm,
):  # fmt: skip
    for variable, momentum, velocity, gradient, squared, rate, decay in zip(
        variables, momenta, velocities, gradients, squares, rates, decays, strict=True
    ):
        dtype = variable.dtype
        if decay is not None:
            decay = tuple(tf.cast(d, dtype) for d in decay)
        if squared is not None:
            squared = tf.cast(squared, dtype)
        _update_one(
            variable, momentum, velocity, tf.cast(gradient, dtype), squared,
            tf.cast(iterations + 1, dtype), tf.cast(rate, dtype), decay, clipnorm,
            *constants,
        )  # fmt: skip


def _update_one(
    variable, momentum, velocity, gradient, squared, step, rate, decay, clipnorm,
    beta_1, beta_2, epsilon,
):  # fmt: skip
    """One variable's AdamW step: `keras.optimizers.AdamW`'s clipping
    (`clipnorm`), weight decay and `update_step`, in that order. `squared` is
    the gradient's square, or for a sparse gradient its slices' (`_dense`)."""
    if clipnorm is not None:
        # Keras's `_clip_by_norm`, with its guard for a zero (or NaN) norm.
        total = tf.reduce_sum(tf.square(gradient) if squared is None else squared)
        positive = total > 0
        norm = tf.where(positive, tf.sqrt(tf.where(positive, total, 1.0)), total)
        gradient = gradient * clipnorm / tf.maximum(norm, clipnorm)
        if squared is not None:
            squared = squared * tf.square(clipnorm / tf.maximum(norm, clipnorm))
    if squared is None:
        squared = tf.square(gradient)
    weights = variable.read_value()
    if decay is not None:
        weights = weights - weights * decay[0] * decay[1]
    alpha = rate * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
    m = momentum + (gradient - momentum) * (1 - beta_1)
    v = velocity + (squared - velocity) * (1 - beta_2)
    momentum.assign(m)
    velocity.assign(v)
    variable.assign(weights - m * alpha / (tf.sqrt(v) + epsilon))
