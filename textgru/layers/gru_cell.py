"""`GRUCell`: one step of a gated recurrent unit, written from its equations."""

from typing import NamedTuple

import keras
from keras import constraints, initializers, ops, regularizers

# Keras's own mixin that caches one dropout mask per sequence. `keras.layers.RNN`
# only creates and clears those masks for cells that inherit from it, so a cell
# that wants per-sequence dropout inside `keras.layers.RNN` must use this class.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from textgru import _validation
from textgru.errors import InvalidArgumentError


class GateValues(NamedTuple):
    """The intermediates of one step of a GRU-like cell, each `(batch, units)`.

    What `GRUCell.gate_values` returns. A cell without one of the gates (the
    minimal gated unit has no separate update gate) leaves it `None`; `state`
    is always there.
    """

    update: object  # z: near 1 keeps the previous state
    reset: object  # r: how much of the previous state the candidate sees
    candidate: object  # h~
    state: object  # h', the new state (and the output)


def checked_gate_values(cell, inputs, h_tm1, weights, training=False):
    """`cell.gate_values(inputs, h_tm1, weights, training)`, with a breach of
    the cell contract (a weight its `step_weights` does not give, a result
    that is not a `GateValues`, a state that is not `units` wide) raised as a
    one-line `InvalidArgumentError` naming the cell, not a backend traceback.
    The checks run as the step is traced, not at every step."""
    name = type(cell).__name__
    try:
        values = cell.gate_values(inputs, h_tm1, weights, training)
    except KeyError as error:
        given = ", ".join(map(repr, weights)) if isinstance(weights, dict) else "?"
        raise InvalidArgumentError(
            f"{name}.gate_values looked up the weight {error.args[0]!r}, which "
            f"its step_weights() does not give (it gives {given}); make the two "
            "agree"
        ) from None
    if not isinstance(values, GateValues):
        raise InvalidArgumentError(
            f"Expected {name}.gate_values to return a textgru.layers.GateValues"
            "(update=, reset=, candidate=, state=). Received: a "
            f"{type(values).__name__}"
        )
    width = getattr(values.state, "shape", (None,))[-1]
    if width is not None and width != cell.units:
        raise InvalidArgumentError(
            f"Expected {name}.gate_values to return a state of units={cell.units} "
            f"numbers per row. Received: a state of width {width}"
        )
    return values


# The methods that hold a cell's maths: a `GRUCell` whose instance overrides
# one of them is not the stock GRU.
_MATHS = ("step_weights", "gate_values", "step", "call")


def is_stock_gru(cell):
    """Whether `cell` computes exactly `GRUCell`'s equations from its weights,
    so that textgru's fast loop (which reads only `kernel`,
    `recurrent_kernel` and `bias`) may run it: a `GRUCell`, or a subclass
    that says so with `computes_stock_gru = True` in its own class body."""
    return (
        isinstance(cell, GRUCell)
        and type(cell).computes_stock_gru
        and not any(name in vars(cell) for name in _MATHS)
    )


@keras.saving.register_keras_serializable(package="textgru")
class GRUCell(keras.layers.Layer, DropoutRNNCell):
    """One step of a gated recurrent unit (Cho et al., 2014).

    With `reset_after=False` (the default, the textbook form), for input `x`
    and previous state `h`:

        z  = sigmoid(W_z x + U_z h + b_z)          update gate
        r  = sigmoid(W_r x + U_r h + b_r)          reset gate
        h~ = tanh(W_h x + U_h (r * h) + b_h)       candidate state
        h' = z * h + (1 - z) * h~                  new state

    With `reset_after=True` (the form cuDNN and PyTorch use) the reset gate is
    applied after the recurrent product, which has a bias of its own:
    `h~ = tanh(W_h x + b_h + r * (U_h h + b'_h))`.

    The weights are laid out exactly as in `keras.layers.GRUCell`, so they copy
    both ways with `set_weights(get_weights())`: `kernel` has shape
    `(input_dim, 3 * units)` and `recurrent_kernel` `(units, 3 * units)`, gate
    blocks in the order z | r | h; `bias` has shape `(3 * units,)`, or
    `(2, 3 * units)` (input row, recurrent row) with `reset_after=True`.

    Args:
        units: Positive integer, dimensionality of the state and the output.
        activation: Activation of the candidate state. Default: `"tanh"`.
        recurrent_activation: Activation of the update and reset gates.
            Default: `"sigmoid"`.
        use_bias: Whether the layer has biases. Default: `True`.
        kernel_initializer: Initializer of `kernel`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`.
            Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`. Default: `None`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`.
            Default: `None`.
        bias_regularizer: Regularizer of `bias`. Default: `None`.
        kernel_constraint: Constraint on `kernel`. Default: `None`.
        recurrent_constraint: Constraint on `recurrent_kernel`. Default: `None`.
        bias_constraint: Constraint on `bias`. Default: `None`.
        dropout: Float in [0, 1). Fraction of the input features dropped,
            with one mask for the whole sequence. Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the state dropped
            before the recurrent products, with one mask for the whole
            sequence. Default: 0.
        reset_after: Whether the reset gate is applied after the recurrent
            product (cuDNN / PyTorch form). Default: `False`, the textbook
            form above. (`keras.layers.GRUCell` defaults to `True`.)
        seed: Random seed for the dropout masks.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A 2D tensor of shape `(batch, features)`.
        states: The previous state, a tensor of shape `(batch, units)` or a
            list holding it.
        training: Whether dropout is applied.

    Your own cell: subclass `GRUCell` and override
        - `build(input_shape)` to create the weights (`add_gate_weights`
          makes `kernel`, `recurrent_kernel` and `bias` for any number of
          gate blocks, with the cell's initializers, regularizers and
          constraints);
        - `step_weights()` to prepare them once per sequence;
        - `gate_values(inputs, h_tm1, weights, training)` for one step,
          returning a `GateValues` (a gate the cell lacks may be `None`),
          using `recurrent_input(h_tm1, training)` in its recurrent
          products so that `recurrent_dropout` works;
        - `get_config` for arguments of its own; register the class with
          `keras.saving.register_keras_serializable`.
    It then runs in `textgru.GRU(cell=...)`, `keras.layers.RNN` and
    `Bidirectional`, with input and recurrent dropout, masking, config,
    `.keras` saving, text generation and `textgru.interpret`. `textgru.GRU`
    runs a subclass on its plain loop: its fast loop computes the stock
    equations from `kernel`, `recurrent_kernel` and `bias` only. A subclass
    that keeps the stock equations exactly (other initializers or
    constraints, say) may opt in with `computes_stock_gru = True` in its
    class body; subclasses of it must say so again.

    Example:

    >>> import numpy as np, keras, textgru
    >>> rnn = keras.layers.RNN(textgru.GRUCell(4), return_sequences=True)
    >>> tuple(rnn(np.zeros((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    # Whether textgru.GRU's fast loop may run this class (see
    # `is_stock_gru`). Not inherited: each subclass sets it itself.
    computes_stock_gru = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.computes_stock_gru = bool(cls.__dict__.get("computes_stock_gru", False))

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _validation.positive_int("units", units)
        self.activation = _validation.activation("activation", activation)
        self.recurrent_activation = _validation.activation(
            "recurrent_activation", recurrent_activation
        )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _validation.rate("dropout", dropout)
        self.recurrent_dropout = _validation.rate(
            "recurrent_dropout", recurrent_dropout
        )
        self.reset_after = bool(reset_after)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        # reset_after needs a second bias row for U_h h (b'_h), which cannot
        # be folded into the input bias because r multiplies it.
        self.add_gate_weights(input_shape, 3, bias_rows=2 if self.reset_after else 1)

    def add_gate_weights(self, input_shape, blocks, bias_rows=1):
        """Creates `kernel` `(input_dim, blocks * units)`, `recurrent_kernel`
        `(units, blocks * units)` and, with `use_bias`, `bias`
        `(blocks * units,)` (or `(bias_rows, blocks * units)`), with the
        cell's initializers, regularizers and constraints; `bias` is `None`
        without `use_bias`. For `build`, here and in subclasses."""
        input_dim = input_shape[-1]
        if input_dim is None:
            raise InvalidArgumentError(
                "Expected the last (feature) axis of the GRU input to have a "
                f"known size. Received: input_shape={tuple(input_shape)}"
            )
        width = blocks * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(width,) if bias_rows == 1 else (bias_rows, width),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def step_weights(self):
        """Returns the weights as `gate_values` uses them (a dict).

        `textgru.GRU` calls this once per sequence, outside its time loop:
        splitting the recurrent kernel at every step copies it every step.
        """
        u = self.units
        weights = {"kernel": ops.convert_to_tensor(self.kernel)}
        if self.use_bias:
            bias = ops.convert_to_tensor(self.bias)
            if self.reset_after:
                weights["input_bias"], weights["recurrent_bias"] = ops.unstack(bias)
            else:
                weights["input_bias"] = bias
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        if self.reset_after:
            weights["recurrent_kernel"] = recurrent_kernel
        else:
            weights["recurrent_kernel_zr"], weights["recurrent_kernel_h"] = ops.split(
                recurrent_kernel, [2 * u], axis=1
            )
        return weights

    def step(self, inputs, h_tm1, weights, training=False):
        """Returns the new state for inputs `x` and the previous state `h`,
        with `weights` from `step_weights()`."""
        return checked_gate_values(self, inputs, h_tm1, weights, training).state

    def recurrent_input(self, h_tm1, training=False):
        """The previous state as the recurrent products see it: while
        training with `recurrent_dropout`, `h_tm1` times the sequence's
        dropout mask; otherwise `h_tm1` itself. (The state update itself
        uses the undropped `h_tm1`, as `keras.layers.GRUCell` does.)"""
        if training and self.recurrent_dropout > 0:
            return h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return h_tm1

    def gate_values(self, inputs, h_tm1, weights, training=False):
        """One step: a `GateValues` of the update gate z, the reset gate r,
        the candidate h~ and the new state h'.

        `inputs` `(batch, features)` already carry the input dropout;
        `h_tm1` `(batch, units)` is the previous state; `weights` is what
        `step_weights()` returned. This is the one function every path runs
        (`textgru.GRU`'s plain loop, `call`, generation and
        `textgru.interpret`), so the gates shown are those the layer computes.
        """
        # W x + b for all three gates in one product.
        projected = ops.matmul(inputs, weights["kernel"])
        if self.use_bias:
            projected = projected + weights["input_bias"]
        # ops.split rather than slicing throughout: the gradient of a slice
        # pads it back to full size, which made training a third slower.
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        h_in = self.recurrent_input(h_tm1, training)

        if self.reset_after:
            # U h + b' for all three gates in one product.
            recurrent = ops.matmul(h_in, weights["recurrent_kernel"])
            if self.use_bias:
                recurrent = recurrent + weights["recurrent_bias"]
            u_z, u_r, u_h = ops.split(recurrent, 3, axis=-1)
            # z = sigmoid(W_z x + b_z + U_z h + b'_z)
            z = self.recurrent_activation(x_z + u_z)
            # r = sigmoid(W_r x + b_r + U_r h + b'_r)
            r = self.recurrent_activation(x_r + u_r)
            # h~ = tanh(W_h x + b_h + r * (U_h h + b'_h))
            candidate = self.activation(x_h + r * u_h)
        else:
            # U_z h and U_r h in one product; U_h must wait for r.
            u_z, u_r = ops.split(
                ops.matmul(h_in, weights["recurrent_kernel_zr"]), 2, axis=-1
            )
            # z = sigmoid(W_z x + U_z h + b_z)
            z = self.recurrent_activation(x_z + u_z)
            # r = sigmoid(W_r x + U_r h + b_r)
            r = self.recurrent_activation(x_r + u_r)
            # h~ = tanh(W_h x + U_h (r * h) + b_h)
            candidate = self.activation(
                x_h + ops.matmul(r * h_in, weights["recurrent_kernel_h"])
            )
        # h' = z * h + (1 - z) * h~, written with one product fewer.
        state = candidate + z * (h_tm1 - candidate)
        return GateValues(update=z, reset=r, candidate=candidate, state=state)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        h = self.step(inputs, h_tm1, self.step_weights(), training)
        new_states = [h] if isinstance(states, (list, tuple)) else h
        return h, new_states

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation
            ),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "reset_after": self.reset_after,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
