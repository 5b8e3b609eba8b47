"""A float64 NumPy GRU, written straight from the equations, step by step.

Independent of textgru's code: it shares only the weight layout (Keras's,
gate blocks z | r | h), which it slices by hand.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def gru_reference(
    x,
    kernel,
    recurrent_kernel,
    bias,
    *,
    reset_after,
    h0=None,
    mask=None,
    go_backwards=False,
    return_gates=False,
):
    """Returns (outputs (batch, time, units), final state) in float64.

    A masked step keeps the previous state and outputs it. With
    `return_gates`, also a dict of `update`, `reset` and `candidate`, each
    (batch, time, units) with time in input order.
    """
    x = np.asarray(x, np.float64)
    W = np.asarray(kernel, np.float64)
    U = np.asarray(recurrent_kernel, np.float64)
    batch, steps, _ = x.shape
    u = U.shape[0]
    if bias is None:
        b_in = np.zeros(3 * u)
        b_rec = np.zeros(3 * u)
    else:
        bias = np.asarray(bias, np.float64)
        b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    W_z, W_r, W_h = W[:, :u], W[:, u : 2 * u], W[:, 2 * u :]
    U_z, U_r, U_h = U[:, :u], U[:, u : 2 * u], U[:, 2 * u :]
    h = np.zeros((batch, u)) if h0 is None else np.asarray(h0, np.float64).copy()
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    gates = {"update": {}, "reset": {}, "candidate": {}}
    for t in order:
        x_t = x[:, t]
        z = sigmoid(x_t @ W_z + b_in[:u] + h @ U_z + b_rec[:u])
        r = sigmoid(x_t @ W_r + b_in[u : 2 * u] + h @ U_r + b_rec[u : 2 * u])
        if reset_after:
            candidate = np.tanh(
                x_t @ W_h + b_in[2 * u :] + r * (h @ U_h + b_rec[2 * u :])
            )
        else:
            candidate = np.tanh(x_t @ W_h + (r * h) @ U_h + b_in[2 * u :])
        new_h = z * h + (1 - z) * candidate
        for name, value in (("update", z), ("reset", r), ("candidate", candidate)):
            gates[name][t] = value
        keep = mask[:, t : t + 1]
        h = np.where(keep, new_h, h)
        outputs.append(h)
    outputs = np.stack(outputs, axis=1)
    if return_gates:
        gates = {
            name: np.stack([steps_[t] for t in range(steps)], axis=1)
            for name, steps_ in gates.items()
        }
        return outputs, h, gates
    return outputs, h
