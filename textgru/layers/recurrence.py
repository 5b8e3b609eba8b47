"""The GRU recurrence over a whole sequence, with a hand-written backward pass.

`textgru.GRU` takes this path where `supported(...)` says so, and otherwise
runs `GRUCell.step` in Keras's generic loop (the plain path). Here the input
products `x_t W + b` are done for all time steps at once before the loop (by
the caller, with ordinary autodiff), and the loop does only what must be
sequential. The backward pass is written out, as cuDNN does it: the reverse
loop carries dh back through the elementwise gate math and the products with
the recurrent kernel, and the recurrent kernel's gradient comes after the
loop as one large product (dU = H^T dG) instead of a sum of per-step ones.
On TensorFlow both loops are compiled with XLA, which fuses each step's
elementwise work; on JAX they are `lax.scan`s inside Keras's jitted step.

The equations are those of `GRUCell.gate_values`; the tests check this path
against the plain one, a float64 NumPy loop and `keras.layers.GRU`, values
and gradients, with and without masks.

Shapes are time-major: `projected` (T, B, 3u) is `x_t W + b` (input bias
included); `h0` (B, u); `recurrent_kernel` (u, 3u); `recurrent_bias` (3u,)
(b'; zeros and unused for `reset_after=False`); `mask` (T, B, 1) with 1.0
for a real step and 0.0 for padding, where the state is kept, or None.
"""

import functools
import os

_JIT = os.environ.get("TEXTGRU_JIT", "1") == "1"  # EXPERIMENT

import keras
from keras import ops


def supported(cell, dtype, training, unroll):
    """Whether `recurrence` can run `cell`: tanh and sigmoid activations,
    float32, no recurrent dropout while training, no unrolling, and the
    TensorFlow or JAX backend."""
    return (
        keras.backend.backend() in ("tensorflow", "jax")
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and dtype == "float32"
        and not unroll
        and not (training and cell.recurrent_dropout > 0)
    )


def recurrence(projected, h0, recurrent_kernel, recurrent_bias, mask, reset_after):
    """Returns the states after every step (T, B, u) and the last one (B, u)."""
    if keras.backend.backend() == "jax":
        run = _jax_recurrence
    else:
        run = _tf_recurrence
    return run(reset_after, mask is not None)(
        projected, h0, recurrent_kernel, recurrent_bias, mask
    )


# One step forward and backward, shared by both backends. Saved per step for
# the backward pass: z, r, the candidate c, and with reset_after the
# recurrent term of the candidate, uh = U_h h + b'_h.


def _step_forward(x, h, m, U, b_rec, reset_after):
    units = h.shape[-1]
    x_zr, x_h = x[:, : 2 * units], x[:, 2 * units :]
    if reset_after:
        hu = ops.matmul(h, U) + b_rec
        zr = ops.sigmoid(x_zr + hu[:, : 2 * units])
        uh = hu[:, 2 * units :]
        z, r = zr[:, :units], zr[:, units:]
        c = ops.tanh(x_h + r * uh)  # h~ = tanh(W_h x + b_h + r * (U_h h + b'_h))
    else:
        zr = ops.sigmoid(x_zr + ops.matmul(h, U[:, : 2 * units]))
        uh = None
        z, r = zr[:, :units], zr[:, units:]
        c = ops.tanh(x_h + ops.matmul(r * h, U[:, 2 * units :]))  # U_h (r * h)
    new = c + z * (h - c)  # h' = z * h + (1 - z) * h~
    if m is not None:
        new = h + m * (new - h)  # a padded step keeps the state
    return new, (z, r, c) if uh is None else (z, r, c, uh)


def _step_backward(dh, h_prev, saved, m, U_T, reset_after):
    """Returns dh_prev and g = d(x_t W + b) for the step, (B, 3u)."""
    z, r, c = saved[:3]
    units = z.shape[-1]
    if m is not None:
        passed = dh * (1 - m)  # a padded step hands dh back unchanged
        dh = dh * m
    da_c = dh * (1 - z) * (1 - c * c)
    da_z = dh * (h_prev - c) * z * (1 - z)
    if reset_after:
        da_r = da_c * saved[3] * r * (1 - r)
        g_rec = ops.concatenate([da_z, da_r, da_c * r], axis=1)
        dh_prev = dh * z + ops.matmul(g_rec, U_T)
    else:
        d_rh = ops.matmul(da_c, U_T[2 * units :])
        da_r = d_rh * h_prev * r * (1 - r)
        g_zr = ops.concatenate([da_z, da_r], axis=1)
        dh_prev = dh * z + d_rh * r + ops.matmul(g_zr, U_T[: 2 * units])
    if m is not None:
        dh_prev = dh_prev + passed
    return dh_prev, ops.concatenate([da_z, da_r, da_c], axis=1)


def _recurrent_gradients(G, H_prev, R, reset_after):
    """dU and db' from the step gradients G (T, B, 3u), as large products."""
    units = H_prev.shape[-1]
    H_prev = ops.reshape(H_prev, (-1, units))
    if reset_after:
        # The candidate's recurrent term is scaled by r.
        G = ops.concatenate([G[..., : 2 * units], G[..., 2 * units :] * R], axis=-1)
        G = ops.reshape(G, (-1, 3 * units))
        return ops.matmul(ops.transpose(H_prev), G), ops.sum(G, axis=0)
    G = ops.reshape(G, (-1, 3 * units))
    RH = ops.reshape(R, (-1, units)) * H_prev
    dU = ops.concatenate(
        [
            ops.matmul(ops.transpose(H_prev), G[:, : 2 * units]),
            ops.matmul(ops.transpose(RH), G[:, 2 * units :]),
        ],
        axis=1,
    )
    return dU, None


def _shifted(h0, H):
    """The state before each step: h0, H[0], ..., H[T-2]."""
    return ops.concatenate([h0[None], H[:-1]], axis=0)


# TensorFlow: while loops over TensorArrays, each direction compiled by XLA
# (Keras leaves jit_compile off on CPU; these two functions ask for it).


@functools.cache
def _tf_recurrence(reset_after, masked):
    import tensorflow as tf

    @tf.function(jit_compile=_JIT, autograph=False)
    def forward(xp, h0, U, b_rec, mask):
        steps = tf.shape(xp)[0]
        spec = tf.TensorShape([None, h0.shape[-1]])
        arrays = [
            tf.TensorArray(xp.dtype, size=steps, element_shape=spec)
            for _ in range(4 + reset_after)
        ]

        def body(t, h, arrays):
            m = mask[t] if masked else None
            h, saved = _step_forward(xp[t], h, m, U, b_rec, reset_after)
            return (
                t + 1,
                h,
                [a.write(t, v) for a, v in zip(arrays, (h, *saved), strict=True)],
            )

        _, h, arrays = tf.while_loop(
            lambda t, h, arrays: t < steps,
            body,
            (0, h0, arrays),
            maximum_iterations=steps,
        )
        return h, [a.stack() for a in arrays]

    @tf.function(jit_compile=_JIT, autograph=False)
    def backward(dH, dh, h0, H, saved, U, mask):
        steps = tf.shape(H)[0]
        H_prev = _shifted(h0, H)
        U_T = tf.transpose(U)
        G = tf.TensorArray(H.dtype, size=steps, element_shape=[None, U.shape[-1]])

        def body(t, dh, G):
            m = mask[t] if masked else None
            step_saved = [s[t] for s in saved]
            dh, g = _step_backward(
                dh + dH[t], H_prev[t], step_saved, m, U_T, reset_after
            )
            return t - 1, dh, G.write(t, g)

        _, dh0, G = tf.while_loop(
            lambda t, dh, G: t >= 0, body, (steps - 1, dh, G), maximum_iterations=steps
        )
        G = G.stack()
        dU, db_rec = _recurrent_gradients(G, H_prev, saved[1], reset_after)
        return G, dh0, dU, db_rec

    @tf.custom_gradient
    def run(xp, h0, U, b_rec, mask):
        # The inputs' gradients are given below; stop_gradient keeps TF from
        # also differentiating (and keeping the lists of) the XLA loop.
        stop = tf.stop_gradient
        h, (H, *saved) = forward(stop(xp), stop(h0), stop(U), stop(b_rec), mask)

        def grad(dH, dh):
            G, dh0, dU, db_rec = backward(dH, dh, h0, H, saved, U, mask)
            return G, dh0, dU, db_rec if reset_after else tf.zeros_like(b_rec), None

        return (H, h), grad

    def call(xp, h0, U, b_rec, mask):
        # Plain tensors in: a variable read inside would make custom_gradient
        # ask for the variables' gradients separately.
        tensors = [tf.convert_to_tensor(a) for a in (xp, h0, U, b_rec)]
        return run(*tensors, mask if masked else tf.zeros([0]))

    return call


# JAX: lax.scan forward and backward, with the backward pass as a custom VJP.


@functools.cache
def _jax_recurrence(reset_after, masked):
    import jax
    import jax.numpy as jnp

    def forward(xp, h0, U, b_rec, mask):
        def body(h, inputs):
            x, m = inputs if masked else (inputs, None)
            h, saved = _step_forward(x, h, m, U, b_rec, reset_after)
            return h, (h, *saved)

        h, (H, *saved) = jax.lax.scan(body, h0, (xp, mask) if masked else xp)
        return (H, h), (h0, H, saved, U, mask)

    def backward(residuals, cotangents):
        h0, H, saved, U, mask = residuals
        dH, dh = cotangents
        H_prev = _shifted(h0, H)
        U_T = U.T

        def body(dh, inputs):
            d_out, h_prev, step_saved, m = inputs
            return _step_backward(dh + d_out, h_prev, step_saved, m, U_T, reset_after)

        dh0, G = jax.lax.scan(
            body, dh, (dH, H_prev, saved, mask if masked else None), reverse=True
        )
        dU, db_rec = _recurrent_gradients(G, H_prev, saved[1], reset_after)
        if db_rec is None:
            db_rec = jnp.zeros(U.shape[-1], U.dtype)
        return G, dh0, dU, db_rec, None if mask is None else jnp.zeros_like(mask)

    @jax.custom_vjp
    def run(xp, h0, U, b_rec, mask):
        return forward(xp, h0, U, b_rec, mask)[0]

    run.defvjp(forward, backward)
    return run
