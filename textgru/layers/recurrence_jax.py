"""The fast GRU loop on JAX (CPU): `lax.scan` over the steps, with the
backward pass written out (`jax.custom_vjp`) rather than derived by
autodiff.

Autodiff of a scan keeps every step's intermediates and, going back, adds
up the recurrent kernel's gradient one small product per step. Here the
forward scan keeps z, r and the candidate; the reverse scan carries dh back
through `recurrence_steps.step_backward`; and dU comes after it as one
large product over all steps. Out of training (no gradient asked for) the
forward scan keeps only the states. JAX compiles one loop per shape, as it
compiles everything, so lengths need no padding here.
"""

import functools

import jax
import jax.numpy as jnp

from textgru.layers.recurrence_steps import (
    recurrent_gradients,
    step_backward,
    step_forward,
)


def recurrence(
    projected, h0, recurrent_kernel, recurrent_bias, mask, reset_after, training
):
    """`textgru.layers.recurrence.recurrence` on JAX. `training` changes
    nothing here: JAX keeps the intermediates only when it differentiates."""
    projected = jnp.asarray(projected)
    if mask is None:
        mask = jnp.ones_like(projected[..., :1])
    return _loop(reset_after)(
        projected,
        jnp.asarray(h0),
        jnp.asarray(recurrent_kernel),
        jnp.asarray(recurrent_bias),
        jnp.asarray(mask, projected.dtype),
    )


def _scan(xp, h0, mask, U, b_rec, reset_after, keep):
    def body(h, inputs):
        x, m = inputs
        h, saved = step_forward(x, h, m, U, b_rec, reset_after)
        return h, (h, *saved) if keep else (h,)

    last, kept = jax.lax.scan(body, h0, (xp, mask))
    return last, kept


@functools.cache
def _loop(reset_after):
    @jax.custom_vjp
    def run(xp, h0, U, b_rec, mask):
        last, (states,) = _scan(xp, h0, mask, U, b_rec, reset_after, keep=False)
        return states, last

    def forward(xp, h0, U, b_rec, mask):
        last, (states, *saved) = _scan(xp, h0, mask, U, b_rec, reset_after, keep=True)
        return (states, last), (h0, states, saved, mask, U)

    def backward(residuals, cotangents):
        h0, states, saved, mask, U = residuals
        dH, dh = cotangents
        H_prev = jnp.concatenate([h0[None], states[:-1]], axis=0)
        U_T = U.T

        def body(dh, inputs):
            dH_t, h_prev, m, *saved_t = inputs
            return step_backward(dh + dH_t, h_prev, saved_t, m, U_T, reset_after)

        dh0, G = jax.lax.scan(body, dh, (dH, H_prev, mask, *saved), reverse=True)
        dU, db_rec = recurrent_gradients(G, H_prev, saved[1], reset_after)
        return G, dh0, dU, db_rec, jnp.zeros_like(mask)

    run.defvjp(forward, backward)
    return run
