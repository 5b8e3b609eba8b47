"""`LayerNormGRUCell`: a GRU with layer normalisation of its gate
pre-activations, a `GRUCell` subclass."""

import keras
from keras import initializers, ops

from textgru.layers.gru_cell import GateValues, GRUCell


@keras.saving.register_keras_serializable(package="textgru")
class LayerNormGRUCell(GRUCell):
    """A GRU whose gate pre-activations are layer-normalised (Ba, Kiros &
    Hinton, 2016, "Layer Normalization"; its GRU as in their code).

    The input products `W x` and the recurrent products `U h` are
    normalised separately, each gate block of `units` numbers on its own,
    with a learned gain γ and bias β per block:

        LN(a) = γ * (a - mean(a)) / sqrt(var(a) + epsilon) + β
        z  = sigmoid(LN(W_z x) + LN(U_z h))
        r  = sigmoid(LN(W_r x) + LN(U_r h))
        h~ = tanh(LN(W_h x) + LN(U_h (r * h)))     (reset_after=False)
        h~ = tanh(LN(W_h x) + r * LN(U_h h))       (reset_after=True)
        h' = z * h + (1 - z) * h~

    Weights: `kernel` `(input_dim, 3 * units)` and `recurrent_kernel`
    `(units, 3 * units)` as in `GRUCell` (blocks z | r | h); `gamma`
    `(2, 3 * units)`, the gains (row 0 for `W x`, row 1 for `U h`); and,
    with `use_bias`, `bias` `(2, 3 * units)`, the β of the same blocks,
    which take the place of the GRU's biases.

    Args:
        units: Positive integer, dimensionality of the state and the output.
        epsilon: Small float added to the variance. Default: 1e-5.
        gamma_initializer: Initializer of `gamma`. Default: `"ones"`.
        **kwargs: The other arguments of `GRUCell` (activations,
            initializers, regularizers and constraints of `kernel`,
            `recurrent_kernel` and `bias`, `use_bias`, `dropout`,
            `recurrent_dropout`, `reset_after`, `seed`) and base layer
            arguments.

    Example:

    >>> import numpy as np, textgru
    >>> gru = textgru.GRU(cell=textgru.layers.LayerNormGRUCell(4))
    >>> tuple(gru(np.zeros((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    def __init__(self, units, epsilon=1e-5, gamma_initializer="ones", **kwargs):
        super().__init__(units, **kwargs)
        self.epsilon = float(epsilon)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape):
        self.add_gate_weights(input_shape, 3, bias_rows=2)
        self.gamma = self.add_weight(
            shape=(2, 3 * self.units), name="gamma", initializer=self.gamma_initializer
        )

    def step_weights(self):
        gamma_x, gamma_h = ops.unstack(ops.convert_to_tensor(self.gamma))
        beta_x = beta_h = None
        if self.use_bias:
            beta_x, beta_h = ops.unstack(ops.convert_to_tensor(self.bias))
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        weights = {"kernel": ops.convert_to_tensor(self.kernel)}
        weights.update(gamma=gamma_x, beta=beta_x)
        if self.reset_after:
            weights.update(
                recurrent_kernel=recurrent_kernel,
                recurrent_gamma=gamma_h,
                recurrent_beta=beta_h,
            )
            return weights

        # U_z h and U_r h are normalised before r is known, U_h (r h) after:
        # split the recurrent weights once per sequence, not at every step.
        def split(value):
            if value is None:
                return None, None
            return ops.split(value, [2 * self.units], axis=-1)

        weights["recurrent_kernel_zr"], weights["recurrent_kernel_h"] = split(
            recurrent_kernel
        )
        weights["recurrent_gamma_zr"], weights["recurrent_gamma_h"] = split(gamma_h)
        weights["recurrent_beta_zr"], weights["recurrent_beta_h"] = split(beta_h)
        return weights

    def _normalize(self, a, gamma, beta):
        """LN of each block of `units` numbers along the last axis of `a`."""
        blocks = a.shape[-1] // self.units
        shaped = ops.reshape(a, (-1, blocks, self.units))
        centred = shaped - ops.mean(shaped, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(centred), axis=-1, keepdims=True)
        normed = ops.reshape(
            centred * ops.rsqrt(variance + self.epsilon), (-1, blocks * self.units)
        )
        normed = normed * gamma
        return normed if beta is None else normed + beta

    def gate_values(self, inputs, h_tm1, weights, training=False):
        w = weights
        x_z, x_r, x_h = ops.split(
            self._normalize(ops.matmul(inputs, w["kernel"]), w["gamma"], w["beta"]),
            3,
            axis=-1,
        )
        h_in = self.recurrent_input(h_tm1, training)
        if self.reset_after:
            u_z, u_r, u_h = ops.split(
                self._normalize(
                    ops.matmul(h_in, w["recurrent_kernel"]),
                    w["recurrent_gamma"],
                    w["recurrent_beta"],
                ),
                3,
                axis=-1,
            )
        else:
            u_z, u_r = ops.split(
                self._normalize(
                    ops.matmul(h_in, w["recurrent_kernel_zr"]),
                    w["recurrent_gamma_zr"],
                    w["recurrent_beta_zr"],
                ),
                2,
                axis=-1,
            )
        # z = sigmoid(LN(W_z x) + LN(U_z h)); r likewise.
        z = self.recurrent_activation(x_z + u_z)
        r = self.recurrent_activation(x_r + u_r)
        if self.reset_after:
            # h~ = tanh(LN(W_h x) + r * LN(U_h h))
            candidate = self.activation(x_h + r * u_h)
        else:
            # h~ = tanh(LN(W_h x) + LN(U_h (r * h)))
            u_h = self._normalize(
                ops.matmul(r * h_in, w["recurrent_kernel_h"]),
                w["recurrent_gamma_h"],
                w["recurrent_beta_h"],
            )
            candidate = self.activation(x_h + u_h)
        # h' = z * h + (1 - z) * h~
        state = candidate + z * (h_tm1 - candidate)
        return GateValues(update=z, reset=r, candidate=candidate, state=state)

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
        }
