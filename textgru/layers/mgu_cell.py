"""`MGUCell`: the minimal gated unit, a `GRUCell` subclass with one gate."""

import keras
from keras import ops

from textgru.errors import InvalidArgumentError
from textgru.layers.gru_cell import GateValues, GRUCell


@keras.saving.register_keras_serializable(package="textgru")
class MGUCell(GRUCell):
    """The minimal gated unit (Zhou, Wu, Zhang & Zhou, 2016): one gate, the
    forget gate f, does the work of both GRU gates.

        f  = sigmoid(W_f x + U_f h + b_f)          forget gate
        h~ = tanh(W_h x + U_h (f * h) + b_h)       candidate state
        h' = (1 - f) * h + f * h~                  new state

    Two thirds of a GRU's weights: `kernel` `(input_dim, 2 * units)`,
    `recurrent_kernel` `(units, 2 * units)` and `bias` `(2 * units,)`, gate
    blocks in the order f | h. It is also a worked example of a `GRUCell`
    subclass: it overrides `build`, `step_weights` and `gate_values`, and
    gets dropout, masking, config, saving, generation and `textgru.interpret`
    from `GRUCell` and `textgru.GRU`.

    In `gate_values` (and so in `textgru.interpret` and the gate plots) f is
    the `reset` gate, since like r it scales the state the candidate sees;
    `update` is None (the state keeps 1 - f of itself).

    Args:
        units: Positive integer, dimensionality of the state and the output.
        reset_after: Only `False`: the minimal gated unit has one form.
        **kwargs: The other arguments of `GRUCell` (`activation` for the
            candidate, `recurrent_activation` for f, initializers,
            regularizers, constraints, `use_bias`, `dropout`,
            `recurrent_dropout`, `seed`) and base layer arguments.

    Example:

    >>> import numpy as np, textgru
    >>> gru = textgru.GRU(cell=textgru.layers.MGUCell(4))
    >>> tuple(gru(np.zeros((2, 5, 3), "float32")).shape)
    (2, 4)
    """

    def __init__(self, units, reset_after=False, **kwargs):
        if reset_after:
            raise InvalidArgumentError(
                "MGUCell has one form: the forget gate scales the state before "
                "U_h. Received: reset_after=True"
            )
        super().__init__(units, reset_after=False, **kwargs)

    def build(self, input_shape):
        self.add_gate_weights(input_shape, 2)

    def step_weights(self):
        weights = {"kernel": ops.convert_to_tensor(self.kernel)}
        if self.use_bias:
            weights["input_bias"] = ops.convert_to_tensor(self.bias)
        weights["recurrent_kernel_f"], weights["recurrent_kernel_h"] = ops.split(
            ops.convert_to_tensor(self.recurrent_kernel), 2, axis=1
        )
        return weights

    def gate_values(self, inputs, h_tm1, weights, training=False):
        projected = ops.matmul(inputs, weights["kernel"])
        if self.use_bias:
            projected = projected + weights["input_bias"]
        x_f, x_h = ops.split(projected, 2, axis=-1)
        h_in = self.recurrent_input(h_tm1, training)
        # f = sigmoid(W_f x + U_f h + b_f)
        f = self.recurrent_activation(
            x_f + ops.matmul(h_in, weights["recurrent_kernel_f"])
        )
        # h~ = tanh(W_h x + U_h (f * h) + b_h)
        candidate = self.activation(
            x_h + ops.matmul(f * h_in, weights["recurrent_kernel_h"])
        )
        # h' = (1 - f) * h + f * h~, written with one product fewer.
        state = h_tm1 + f * (candidate - h_tm1)
        return GateValues(update=None, reset=f, candidate=candidate, state=state)
