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


def mgu_reference(x, kernel, recurrent_kernel, bias, *, h0=None, mask=None):
    """The minimal gated unit (Zhou et al., 2016), blocks f | h:
    f = s(W_f x + U_f h + b_f), h~ = tanh(W_h x + U_h (f h) + b_h),
    h' = (1 - f) h + f h~. Returns (outputs, final state, {"reset": f,
    "candidate": h~}), float64."""
    x = np.asarray(x, np.float64)
    W = np.asarray(kernel, np.float64)
    U = np.asarray(recurrent_kernel, np.float64)
    batch, steps, _ = x.shape
    u = U.shape[0]
    b = np.zeros(2 * u) if bias is None else np.asarray(bias, np.float64)
    h = np.zeros((batch, u)) if h0 is None else np.asarray(h0, np.float64).copy()
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    outputs, forget, candidates = [], [], []
    for t in range(steps):
        f = sigmoid(x[:, t] @ W[:, :u] + h @ U[:, :u] + b[:u])
        candidate = np.tanh(x[:, t] @ W[:, u:] + (f * h) @ U[:, u:] + b[u:])
        new_h = (1 - f) * h + f * candidate
        h = np.where(mask[:, t : t + 1], new_h, h)
        outputs.append(h)
        forget.append(f)
        candidates.append(candidate)
    gates = {"reset": np.stack(forget, 1), "candidate": np.stack(candidates, 1)}
    return np.stack(outputs, axis=1), h, gates


def _layer_norm(a, gain, shift, epsilon):
    mean = a.mean(axis=-1, keepdims=True)
    var = ((a - mean) ** 2).mean(axis=-1, keepdims=True)
    return gain * (a - mean) / np.sqrt(var + epsilon) + shift


def layer_norm_gru_reference(
    x,
    kernel,
    recurrent_kernel,
    gamma,
    beta,
    *,
    reset_after,
    epsilon=1e-5,
    h0=None,
    mask=None,
):
    """A GRU with each gate block's W x and U h layer-normalised on its own
    (gains `gamma` (2, 3u), shifts `beta` (2, 3u) or None; row 0 for W x,
    row 1 for U h). Returns (outputs, final state, gates), float64."""
    x = np.asarray(x, np.float64)
    W = np.asarray(kernel, np.float64)
    U = np.asarray(recurrent_kernel, np.float64)
    g = np.asarray(gamma, np.float64)
    batch, steps, _ = x.shape
    u = U.shape[0]
    be = np.zeros((2, 3 * u)) if beta is None else np.asarray(beta, np.float64)
    h = np.zeros((batch, u)) if h0 is None else np.asarray(h0, np.float64).copy()
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)

    def ln(a, row, block):
        cols = slice(block * u, (block + 1) * u)
        return _layer_norm(a, g[row, cols], be[row, cols], epsilon)

    outputs, gates = [], {"update": [], "reset": [], "candidate": []}
    for t in range(steps):
        x_t = x[:, t]
        z = sigmoid(ln(x_t @ W[:, :u], 0, 0) + ln(h @ U[:, :u], 1, 0))
        r = sigmoid(ln(x_t @ W[:, u : 2 * u], 0, 1) + ln(h @ U[:, u : 2 * u], 1, 1))
        if reset_after:
            recurrent = r * ln(h @ U[:, 2 * u :], 1, 2)
        else:
            recurrent = ln((r * h) @ U[:, 2 * u :], 1, 2)
        candidate = np.tanh(ln(x_t @ W[:, 2 * u :], 0, 2) + recurrent)
        new_h = z * h + (1 - z) * candidate
        h = np.where(mask[:, t : t + 1], new_h, h)
        outputs.append(h)
        for name, value in (("update", z), ("reset", r), ("candidate", candidate)):
            gates[name].append(value)
    gates = {name: np.stack(values, 1) for name, values in gates.items()}
    return np.stack(outputs, axis=1), h, gates


def numerical_gradients(function, arrays, eps=1e-6):
    """Central differences of the scalar `function(*arrays)` with respect to
    each array, in float64."""
    arrays = [np.array(a, np.float64) for a in arrays]
    grads = []
    for array in arrays:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            up = function(*arrays)
            array[index] = saved - eps
            down = function(*arrays)
            array[index] = saved
            grad[index] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads
