"""The fast GRU loop on TensorFlow (CPU): XLA-compiled time loops with a
hand-written backward pass, over two halves of the batch at once.

- Each loop is compiled by XLA, which fuses a step's elementwise work, and
  runs once per half of the batch: the halves are independent, so
  TensorFlow runs them at the same time, one per core. Small products run
  on one core each this way faster than split across two.
- XLA compiles each loop for one sequence length. A length fixed when the
  model is traced (fixed-length inputs, the windows of a language model) is
  compiled as it is. A length known only at run time (bucketed batches,
  texts padded to the longest in their batch) is padded up to the next of a
  few lengths (`padded_length`: 8, 12, 16, 24, 32, 48, ...), with padding
  steps that keep the state, so a run compiles a handful of loops and
  reuses them, at the cost of at most a third more steps.
"""

import functools

import tensorflow as tf

from textgru.layers.recurrence_steps import (
    recurrent_gradients,
    step_backward,
    step_forward,
)

# The batch is cut into this many independent parts (one per core here).
GROUPS = 2


def recurrence(
    projected, h0, recurrent_kernel, recurrent_bias, mask, reset_after, training
):
    """`textgru.layers.recurrence.recurrence` on TensorFlow."""
    tensors = [
        tf.convert_to_tensor(a)
        for a in (projected, h0, recurrent_kernel, recurrent_bias)
    ]
    mask = (
        tf.ones_like(tensors[0][..., :1])
        if mask is None
        else tf.convert_to_tensor(mask)
    )
    run = _grouped(reset_after, bool(training))
    if tensors[0].shape[0] is not None:
        return run(*tensors, mask)
    # A run-time length: pad it to one of a few lengths, with steps that keep
    # the state (mask 0), so XLA compiles a handful of loops, not one per length.
    steps = tf.shape(tensors[0])[0]
    extra = [[0, padded_length(steps) - steps], [0, 0], [0, 0]]
    states, last = run(tf.pad(tensors[0], extra), *tensors[1:], tf.pad(mask, extra))
    return states[:steps], last


# The lengths a run-time length is padded to: 8, then 12, 16, 24, 32, 48, ...
# (powers of two and three quarters of them), on to 2**30.
_LENGTHS = [8] + sorted(f * 2**k for k in range(2, 29) for f in (3, 4))


def padded_length(steps):
    """The least of `_LENGTHS` at or above `steps` (a scalar int32 tensor)."""
    lengths = tf.constant(_LENGTHS, tf.int32)
    return tf.reduce_min(tf.where(lengths >= steps, lengths, lengths[-1]))


@functools.cache
def _forward(reset_after, keep):
    """The forward time loop of one group, compiled by XLA. With `keep` it
    also returns what the backward pass needs (z, r, the candidate, and with
    reset_after U_h h + b'_h, for every step); without, only the states."""
    kept = (4 if reset_after else 3) if keep else 0

    @tf.function(jit_compile=True, autograph=False)
    def forward(xp, h0, mask, U, b_rec):
        steps = tf.shape(xp)[0]  # a constant where XLA compiles the loop
        # The state's batch is the input's: a stateful layer's state has the
        # batch it was built with, while a trace may leave the batch unknown.
        state_shape = tf.TensorShape([xp.shape[1], h0.shape[1]])
        arrays = [
            tf.TensorArray(xp.dtype, size=steps, element_shape=state_shape)
            for _ in range(1 + kept)
        ]

        def body(t, h, arrays):
            h, saved = step_forward(xp[t], h, mask[t], U, b_rec, reset_after)
            values = (h, *saved)[: 1 + kept]
            return (
                t + 1,
                h,
                [a.write(t, v) for a, v in zip(arrays, values, strict=True)],
            )

        _, h, arrays = tf.while_loop(
            lambda t, h, arrays: t < steps,
            body,
            (0, h0, arrays),
            shape_invariants=(
                tf.TensorShape([]),
                state_shape,
                [tf.TensorShape(None)] * len(arrays),
            ),
            maximum_iterations=steps,
        )
        return h, [a.stack() for a in arrays]

    return forward


@functools.cache
def _backward(reset_after):
    """The backward time loop of one group, compiled by XLA: the step
    gradients G (T, B, 3u) and the initial state's."""

    @tf.function(jit_compile=True, autograph=False)
    def backward(dH, dh, H_prev, saved, mask, U):
        steps = tf.shape(dH)[0]
        U_T = tf.transpose(U)
        G = tf.TensorArray(dH.dtype, size=steps, element_shape=[None, U.shape[1]])

        def body(t, dh, G):
            step_saved = [a[t] for a in saved]
            dh, g = step_backward(
                dh + dH[t], H_prev[t], step_saved, mask[t], U_T, reset_after
            )
            return t - 1, dh, G.write(t, g)

        _, dh0, G = tf.while_loop(
            lambda t, dh, G: t >= 0, body, (steps - 1, dh, G), maximum_iterations=steps
        )
        return G.stack(), dh0

    return backward


@functools.cache
def _grouped(reset_after, training):
    """The loops over the groups of the batch, with their gradient. Out of
    training, with `reset_after=False`, the forward loop keeps only the
    states (inference writes a quarter of the arrays); a gradient asked for
    all the same (a tape around an inference call) runs the forward loop
    again, keeping the rest. With `reset_after=True` it always keeps them:
    XLA compiles the loop that keeps only the states to a slower program on
    CPU (71 against 40 ms for the benchmark's layer, measured)."""
    keep = training or reset_after

    def split(tensor, axis):
        # Sizes ceil(B / GROUPS), ...: any batch size works (a part may be empty).
        size = -(-tf.shape(tensor)[axis] // GROUPS)
        sizes = [size] * (GROUPS - 1)
        sizes.append(tf.shape(tensor)[axis] - size * (GROUPS - 1))
        return tf.split(tensor, tf.stack(sizes), axis=axis, num=GROUPS)

    def forward(groups, U, b_rec, keep):
        loop = _forward(reset_after, keep)
        return [loop(*group, U, b_rec) for group in groups]

    @tf.custom_gradient
    def run(xp, h0, U, b_rec, mask):
        # The gradients are given below; stop_gradient keeps TensorFlow from
        # also differentiating the compiled loops.
        xps, h0s = split(tf.stop_gradient(xp), 1), split(tf.stop_gradient(h0), 0)
        masks = split(tf.stop_gradient(mask), 1)
        U_, b_ = tf.stop_gradient(U), tf.stop_gradient(b_rec)
        groups = list(zip(xps, h0s, masks, strict=True))
        parts = forward(groups, U_, b_, keep=keep)
        last = tf.concat([h for h, _ in parts], axis=0)
        states = tf.concat([arrays[0] for _, arrays in parts], axis=1)

        def grad(dH, dh):
            kept = parts if keep else forward(groups, U_, b_, keep=True)
            backward = _backward(reset_after)
            results = []
            for (_, (H, *saved)), h0_, dH_, dh_, m in zip(
                kept, h0s, split(dH, 1), split(dh, 0), masks, strict=True
            ):
                H_prev = tf.concat([h0_[None], H[:-1]], axis=0)
                G, dh0 = backward(dH_, dh_, H_prev, saved, m, U_)
                results.append((G, dh0, H_prev, saved[1]))
            G, dh0, H_prev, R = (
                tf.concat([r[i] for r in results], axis=1 if i != 1 else 0)
                for i in range(4)
            )
            dU, db_rec = recurrent_gradients(G, H_prev, R, reset_after)
            return G, dh0, dU, db_rec, None

        return (states, last), grad

    return run
