"""One GRU step forward and its backward pass, written out, and the
recurrent kernel's gradient as large products: the maths the fast loops of
`textgru.layers.recurrence` run, in `keras.ops` so that every backend's loop
runs the same code.

Shapes, per step: `x` (B, 3u) is `x_t W + b` (the input bias included); `h`
(B, u); `m` (B, 1), 1.0 for a real step and 0.0 for padding, where the state
is kept; `U` (u, 3u); `b_rec` (3u,) (b'; zeros, and unused, for
`reset_after=False`). Kept per step for the backward pass: z, r, the
candidate c, and with reset_after the recurrent term uh = U_h h + b'_h.
"""

from keras import ops


def step_forward(x, h, m, U, b_rec, reset_after):
    units = h.shape[-1]
    x_zr, x_h = x[:, : 2 * units], x[:, 2 * units :]
    if reset_after:
        hu = ops.matmul(h, U) + b_rec
        zr = ops.sigmoid(x_zr + hu[:, : 2 * units])  # z, r = sigmoid(Wx + b + Uh + b')
        z, r = zr[:, :units], zr[:, units:]
        uh = hu[:, 2 * units :]
        c = ops.tanh(x_h + r * uh)  # h~ = tanh(W_h x + b_h + r * (U_h h + b'_h))
        saved = (z, r, c, uh)
    else:
        zr = ops.sigmoid(
            x_zr + ops.matmul(h, U[:, : 2 * units])
        )  # sigmoid(Wx + Uh + b)
        z, r = zr[:, :units], zr[:, units:]
        c = ops.tanh(
            x_h + ops.matmul(r * h, U[:, 2 * units :])
        )  # tanh(W_h x + U_h(r h) + b_h)
        saved = (z, r, c)
    new = c + z * (h - c)  # h' = z * h + (1 - z) * h~
    return h + m * (new - h), saved  # a padded step (m = 0) keeps the state


def step_backward(dh, h_prev, saved, m, U_T, reset_after):
    """dh_prev and g = d(x_t W + b) for one step, (B, 3u)."""
    z, r, c = saved[:3]
    units = z.shape[-1]
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
    return dh_prev + passed, ops.concatenate([da_z, da_r, da_c], axis=1)


def recurrent_gradients(G, H_prev, R, reset_after):
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
    return dU, ops.zeros((3 * units,), G.dtype)
