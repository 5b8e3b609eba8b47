"""A faster GRU loop for TensorFlow on CPU: XLA-compiled time loops with a
hand-written backward pass, over two halves of the batch at once.

`textgru.GRU` takes this path where `why_not(...)` finds nothing against it
(and its `fast_path` is not False) and otherwise runs the cell's
`gate_values` in Keras's generic loop (the plain path, which autodiff
differentiates). Three things make it faster on a few CPU cores:

- The input products `x_t W + b` of all steps are one large product before
  the loop (done by the caller, with ordinary autodiff).
- The backward pass is written out, as cuDNN does it: a reverse loop carries
  dh back through the gate math and the recurrent products, and the
  recurrent kernel's gradient comes after it as one large product
  (dU = H^T dG) rather than a sum of small per-step ones.
- Each loop is compiled by XLA, which fuses a step's elementwise work, and
  runs once per half of the batch: the halves are independent, so
  TensorFlow runs them at the same time, one per core. Small products run
  on one core each this way faster than split across two.

XLA compiles each loop for one sequence length. A length fixed when the
model is traced (fixed-length inputs, the windows of a language model) is
compiled as it is. A length known only at run time (bucketed batches, texts
padded to the longest in their batch) is padded up to the next of a few
lengths (`padded_length`: 8, 12, 16, 24, 32, 48, ...), with padding steps
that keep the state, so a run compiles a handful of loops and reuses them,
at the cost of at most a third more steps.

The equations are those of `GRUCell.gate_values`; the tests compare this
path with the plain one and with `keras.layers.GRU`, values and gradients,
with and without masks.

Shapes are time-major: `projected` (T, B, 3u) is `x_t W + b` (the input bias
included); `h0` (B, u); `recurrent_kernel` (u, 3u); `recurrent_bias` (3u,)
(b'; zeros, and unused, for `reset_after=False`); `mask` (T, B, 1), 1.0 for
a real step and 0.0 for padding, where the state is kept; or None.
"""

import functools

import keras

from textgru.layers.gru_cell import is_stock_gru

# The batch is cut into this many independent parts (one per core here).
GROUPS = 2


def why_not(cell, training=None, unroll=False):
    """Why `recurrence` cannot run `cell`, or None if it can.

    It runs only the stock GRU equations (`GRUCell` itself, or a subclass
    that opts in: `textgru.layers.gru_cell.is_stock_gru`) with the tanh and
    sigmoid activations, in float32, on TensorFlow on a machine without
    GPUs, with no unrolling and no recurrent dropout while training. With
    `training` None, what it decides is not checked (a layer checks the
    rest when it is made).
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        return f"it runs on the TensorFlow backend only (this is {backend})"
    if not is_stock_gru(cell):
        return (
            f"the cell {type(cell).__name__} may compute other equations than "
            "GRUCell (a GRUCell subclass that computes exactly the same ones "
            "can say so with `computes_stock_gru = True` in its class body)"
        )
    if not (
        cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
    ):
        return "it computes activation='tanh' and recurrent_activation='sigmoid' only"
    if cell.compute_dtype != "float32":
        return f"it computes in float32 only (this layer in {cell.compute_dtype})"
    if unroll:
        return "it does not unroll (unroll=True)"
    if cell.recurrent_dropout > 0 and training is not False:
        return "recurrent dropout while training needs the plain loop"
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return "it runs on CPU only, and TensorFlow sees a GPU"
    return None


def recurrence(
    projected, h0, recurrent_kernel, recurrent_bias, mask, reset_after, training=True
):
    """Returns the states after every step (T, B, u) and the last one (B, u).

    With `training` False the loop keeps nothing for a backward pass (a
    gradient is still right, at the cost of running the loop again)."""
    import tensorflow as tf

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
    import tensorflow as tf

    lengths = tf.constant(_LENGTHS, tf.int32)
    return tf.reduce_min(tf.where(lengths >= steps, lengths, lengths[-1]))


# One step forward and backward. Kept per step for the backward pass: z, r,
# the candidate c, and with reset_after the recurrent term uh = U_h h + b'_h.


def _step_forward(x, h, m, U, b_rec, reset_after):
    import tensorflow as tf

    units = h.shape[-1]
    x_zr, x_h = x[:, : 2 * units], x[:, 2 * units :]
    if reset_after:
        hu = tf.matmul(h, U) + b_rec
        zr = tf.sigmoid(x_zr + hu[:, : 2 * units])  # z, r = sigmoid(Wx + b + Uh + b')
        z, r = zr[:, :units], zr[:, units:]
        uh = hu[:, 2 * units :]
        c = tf.tanh(x_h + r * uh)  # h~ = tanh(W_h x + b_h + r * (U_h h + b'_h))
        saved = (z, r, c, uh)
    else:
        zr = tf.sigmoid(x_zr + tf.matmul(h, U[:, : 2 * units]))  # sigmoid(Wx + Uh + b)
        z, r = zr[:, :units], zr[:, units:]
        c = tf.tanh(
            x_h + tf.matmul(r * h, U[:, 2 * units :])
        )  # tanh(W_h x + U_h(r h) + b_h)
        saved = (z, r, c)
    new = c + z * (h - c)  # h' = z * h + (1 - z) * h~
    return h + m * (new - h), saved  # a padded step (m = 0) keeps the state


def _step_backward(dh, h_prev, saved, m, U_T, reset_after):
    """dh_prev and g = d(x_t W + b) for one step, (B, 3u)."""
    import tensorflow as tf

    z, r, c = saved[:3]
    units = z.shape[-1]
    passed = dh * (1 - m)  # a padded step hands dh back unchanged
    dh = dh * m
    da_c = dh * (1 - z) * (1 - c * c)
    da_z = dh * (h_prev - c) * z * (1 - z)
    if reset_after:
        da_r = da_c * saved[3] * r * (1 - r)
        g_rec = tf.concat([da_z, da_r, da_c * r], axis=1)
        dh_prev = dh * z + tf.matmul(g_rec, U_T)
    else:
        d_rh = tf.matmul(da_c, U_T[2 * units :])
        da_r = d_rh * h_prev * r * (1 - r)
        g_zr = tf.concat([da_z, da_r], axis=1)
        dh_prev = dh * z + d_rh * r + tf.matmul(g_zr, U_T[: 2 * units])
    return dh_prev + passed, tf.concat([da_z, da_r, da_c], axis=1)


@functools.cache
def _forward(reset_after, keep):
    """The forward time loop of one group, compiled by XLA. With `keep` it
    also returns what the backward pass needs (z, r, the candidate, and with
    reset_after U_h h + b'_h, for every step); without, only the states."""
    import tensorflow as tf

    kept = (4 if reset_after else 3) if keep else 0

    @tf.function(jit_compile=True, autograph=False)
    def forward(xp, h0, mask, U, b_rec):
        steps = tf.shape(xp)[0]  # a constant where XLA compiles the loop
        arrays = [
            tf.TensorArray(xp.dtype, size=steps, element_shape=h0.shape)
            for _ in range(1 + kept)
        ]

        def body(t, h, arrays):
            h, saved = _step_forward(xp[t], h, mask[t], U, b_rec, reset_after)
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
            maximum_iterations=steps,
        )
        return h, [a.stack() for a in arrays]

    return forward


@functools.cache
def _backward(reset_after):
    """The backward time loop of one group, compiled by XLA: the step
    gradients G (T, B, 3u) and the initial state's."""
    import tensorflow as tf

    @tf.function(jit_compile=True, autograph=False)
    def backward(dH, dh, H_prev, saved, mask, U):
        steps = tf.shape(dH)[0]
        U_T = tf.transpose(U)
        G = tf.TensorArray(dH.dtype, size=steps, element_shape=[None, U.shape[1]])

        def body(t, dh, G):
            step_saved = [a[t] for a in saved]
            dh, g = _step_backward(
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
    training the forward loop keeps only the states (inference writes a
    quarter of the arrays); a gradient asked for all the same (a tape around
    an inference call) runs the forward loop again, keeping the rest."""
    import tensorflow as tf

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
        parts = forward(groups, U_, b_, keep=training)
        last = tf.concat([h for h, _ in parts], axis=0)
        states = tf.concat([arrays[0] for _, arrays in parts], axis=1)

        def grad(dH, dh):
            kept = parts if training else forward(groups, U_, b_, keep=True)
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
            dU, db_rec = _recurrent_gradients(G, H_prev, R, reset_after)
            return G, dh0, dU, db_rec, None

        return (states, last), grad

    return run


def _recurrent_gradients(G, H_prev, R, reset_after):
    """dU and db' from the step gradients G (T, B, 3u), as large products."""
    import tensorflow as tf

    units = H_prev.shape[-1]
    H_prev = tf.reshape(H_prev, (-1, units))
    if reset_after:
        # The candidate's recurrent term is scaled by r.
        G = tf.concat([G[..., : 2 * units], G[..., 2 * units :] * R], axis=-1)
        G = tf.reshape(G, (-1, 3 * units))
        return tf.matmul(H_prev, G, transpose_a=True), tf.reduce_sum(G, axis=0)
    G = tf.reshape(G, (-1, 3 * units))
    RH = tf.reshape(R, (-1, units)) * H_prev
    dU = tf.concat(
        [
            tf.matmul(H_prev, G[:, : 2 * units], transpose_a=True),
            tf.matmul(RH, G[:, 2 * units :], transpose_a=True),
        ],
        axis=1,
    )
    return dU, tf.zeros([3 * units], G.dtype)
