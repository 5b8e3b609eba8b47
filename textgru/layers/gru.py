"""`GRU`: a `GRUCell` (or your own subclass of it) run over a sequence."""

import ast
import functools
import inspect
import textwrap

import keras
from keras import ops

# The backend-neutral time loop behind `keras.layers.RNN` (tf.while_loop on
# TensorFlow, lax.scan on JAX), with its handling of go_backwards and unroll.
from keras.src import backend as keras_backend

from textgru.errors import InvalidArgumentError
from textgru.layers import recurrence
from textgru.layers.gru_cell import GRUCell, checked_gate_values

# The arguments that belong to the cell; `GRU.get_config` stores them flat,
# as `keras.layers.GRU` does.
_CELL_ARGUMENTS = (
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "reset_after",
    "seed",
)


# What textgru.GRU calls on a cell of its own (`cell=`), besides Keras's
# cell contract (`call`, `state_size`).
_CELL_CONTRACT = ("units", "step_weights", "gate_values")


def _from_cell(name):
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


def _cell_or_its_arguments(init):
    """Refuses a `GRU` given both a `cell` and arguments that belong to a cell
    (they would be silently ignored), or neither."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked(self, *args, **kwargs):
        try:
            given = signature.bind(self, *args, **kwargs).arguments
        except TypeError:
            return init(self, *args, **kwargs)  # Python's own error
        if given.get("cell") is not None:
            both = [
                name
                for name in _CELL_ARGUMENTS
                if name in given and not (name == "units" and given[name] is None)
            ]
            if both:
                raise InvalidArgumentError(
                    "Expected either `cell` or the cell arguments, not both: "
                    f"give {', '.join(both)} to the cell itself. Received: "
                    f"cell={type(given['cell']).__name__}, "
                    + ", ".join(f"{name}={given[name]!r}" for name in both)
                )
        elif given.get("units") is None:
            raise InvalidArgumentError(
                "Expected `units` (a positive integer) or a `cell`. Received: "
                "units=None, cell=None"
            )
        return init(self, *args, **kwargs)

    # Keras reads the arguments of __init__ (for its auto-config) with
    # inspect.getfullargspec, which skips functools.wraps but not this.
    checked.__signature__ = signature
    return checked


def _check_cell(cell):
    missing = [name for name in _CELL_CONTRACT if not hasattr(cell, name)]
    if not isinstance(cell, keras.layers.Layer) or missing:
        lacking = f" (it lacks {', '.join(missing)})" if missing else ""
        raise InvalidArgumentError(
            "Expected `cell` to be a textgru.GRUCell (or a subclass), or a Keras "
            "layer that keeps its contract: units, step_weights(), "
            f"gate_values(...). Received: cell={cell!r}{lacking}"
        )
    if cell.state_size != cell.units:
        raise InvalidArgumentError(
            "Expected a cell with one state of `units` numbers. Received: "
            f"{type(cell).__name__} with state_size={cell.state_size!r}, "
            f"units={cell.units!r}"
        )
    _check_saves(cell)
    _check_reset_after(cell)


def _check_reset_after(cell):
    """Refuse `reset_after=True` on a `GRUCell` subclass whose own step (its
    `gate_values` and `step_weights`, read from its source) neither reads
    `reset_after` nor hands the step to `GRUCell`'s (`super().gate_values`):
    it would compute its one form and record the other."""
    kind = type(cell)
    if not (isinstance(cell, GRUCell) and getattr(cell, "reset_after", False)):
        return
    if not _step_reads_reset_after(kind):
        raise InvalidArgumentError(
            f"{kind.__name__}'s gate_values never reads reset_after, so "
            "reset_after=True would be recorded but not computed; use "
            "reset_after=False, or compute both forms (self.reset_after)"
        )


@functools.cache
def _step_reads_reset_after(kind):
    """Whether the step that `kind` (a `GRUCell` subclass) defines itself
    reads `reset_after` or hands it to `GRUCell`'s; True where it defines
    none, or its source cannot be read (made in a REPL: trusted)."""
    own = [
        klass
        for klass in kind.__mro__[: kind.__mro__.index(GRUCell)]
        if "gate_values" in vars(klass) or "step_weights" in vars(klass)
    ]
    if not own:
        return True  # GRUCell's own step, which has both forms
    try:
        trees = [ast.parse(textwrap.dedent(inspect.getsource(k))) for k in own]
    except (OSError, TypeError, SyntaxError):
        return True
    return any(_reads_reset_after(node) for tree in trees for node in ast.walk(tree))


def _reads_reset_after(node):
    """Whether `node` reads `reset_after` (a name, an attribute, a keyword)
    or calls `super().gate_values(...)`."""
    if isinstance(node, ast.Attribute) and node.attr == "reset_after":
        return True
    if isinstance(node, (ast.Name, ast.keyword)) and "reset_after" in (
        getattr(node, "id", None),
        getattr(node, "arg", None),
    ):
        return True
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "gate_values"
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "super"
    )


def check_registered(cell_class, received):
    """Refuse a cell class that Keras cannot find again by its registered
    name (a model made with it saves, but does not load)."""
    registered = keras.saving.get_registered_name(cell_class)
    if keras.saving.get_registered_object(registered) is not cell_class:
        raise InvalidArgumentError(
            f"Register {cell_class.__name__} with "
            "@keras.saving.register_keras_serializable() so that models made with "
            f"it save and reload. Received: cell={received}"
        )


@functools.cache
def _init_arguments(kind):
    """The named arguments of `kind.__init__` (after `self`)."""
    parameters = list(inspect.signature(kind.__init__).parameters.values())[1:]
    return [
        parameter.name
        for parameter in parameters
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]


def _check_saves(cell):
    """Refuse a cell that would save but not reload as it is: its class not
    registered with Keras (loading fails), or a `get_config` that leaves out
    an argument of its `__init__` (it would reload with the default, and
    compute something else, silently)."""
    kind = type(cell)
    name = kind.__name__
    check_registered(kind, received=name)
    parameters = _init_arguments(kind)
    try:
        config = cell.get_config()
    except NotImplementedError:
        raise InvalidArgumentError(
            f"{name} has no get_config(); write one that returns its arguments, so "
            "that models made with it save and reload"
        ) from None
    left_out = [name for name in parameters if name not in config]
    if left_out:
        raise InvalidArgumentError(
            f"{name}.get_config() leaves out {', '.join(left_out)}, so a saved model "
            "would reload with the default and compute something else; add "
            f"{'it' if len(left_out) == 1 else 'them'} to get_config"
        )


@keras.saving.register_keras_serializable(package="textgru")
class GRU(keras.layers.RNN):
    """Gated recurrent unit layer: `textgru.GRUCell` over a sequence.

    The equations, the weights and their layout are those of `GRUCell`, so a
    `GRU` and a `keras.layers.GRU` with the same `reset_after` give the same
    outputs with the same weights. Pass `cell=` instead of the cell
    arguments to run your own cell (a `GRUCell` subclass such as
    `textgru.layers.MGUCell`; see `GRUCell` for the contract).

    On TensorFlow on CPU the layer runs a faster loop with the same results
    (`textgru.layers.recurrence`: XLA-compiled, a hand-written backward
    pass, two halves of the batch at once; a length known only at run time
    is padded to one of a few lengths, so a run compiles a handful of
    loops); otherwise Keras's generic loop over the cell's `gate_values`.
    JAX has the same fast loop (`lax.scan` with a hand-written backward
    pass), taken only with `fast_path=True`: on a few CPU cores the plain
    loop measures faster there. On a GPU, with `reset_after=True`, the
    layer runs cuDNN's kernel through Keras's own backend, as
    `keras.layers.GRU` does, where cuDNN can run (a right-padded mask, no
    recurrent dropout while training), and the plain loop elsewhere. The
    fast loops compute the stock GRU equations, so they run only `GRUCell`
    itself (or a subclass that opts in with `computes_stock_gru = True`);
    any other cell takes the plain loop, on every backend.

    Args:
        units: Positive integer, dimensionality of the state and the output.
            `None` when `cell` is given.
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
        activity_regularizer: Regularizer of the layer's output.
            Default: `None`.
        kernel_constraint: Constraint on `kernel`. Default: `None`.
        recurrent_constraint: Constraint on `recurrent_kernel`. Default: `None`.
        bias_constraint: Constraint on `bias`. Default: `None`.
        dropout: Float in [0, 1). Fraction of the input features dropped,
            with one mask for the whole sequence. Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the state dropped
            before the recurrent products, one mask per sequence. Default: 0.
        reset_after: Whether the reset gate is applied after the recurrent
            product (cuDNN / PyTorch form). Default: `False` (textbook form;
            `keras.layers.GRU` defaults to `True`).
        seed: Random seed for the dropout masks.
        return_sequences: Whether to return the output of every step
            `(batch, timesteps, units)` or only the last `(batch, units)`.
            Default: `False`.
        return_state: Whether to also return the last state. Default: `False`.
        go_backwards: Whether to read the sequence backwards (and return the
            reversed output sequence). Default: `False`.
        stateful: Whether the last state of each sample in a batch is the
            initial state of that sample in the next batch. Needs a fixed
            batch size; `reset_state()` sets the states back to zero.
            Default: `False`.
        unroll: Whether to unroll the loop (only for short sequences).
            Default: `False`.
        cell: Optional cell instance to run instead of a `GRUCell` made of
            the arguments above: a `GRUCell` subclass, or a Keras layer that
            keeps `GRUCell`'s contract. `units` and the cell arguments
            (`activation` to `seed`) then come from the cell; giving them
            too is an error. Default: `None`.
        fast_path: `"auto"` takes the fast loop wherever it can run and
            measures faster (TensorFlow on CPU); `False` always runs the
            plain loop; `True` requires the fast loop (also on JAX) and
            raises an `InvalidArgumentError` saying why where it cannot run
            (the spirit of `keras.layers.GRU(use_cudnn=...)`).
            Default: `"auto"`.
        use_cudnn: `keras.layers.GRU`'s name for `fast_path` (the same
            values, mapped to it), so code written for Keras runs unchanged;
            saved as `fast_path`. Default: `None` (use `fast_path`).
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A 3D tensor of shape `(batch, timesteps, features)`.
        mask: Optional boolean tensor `(batch, timesteps)`; `False` marks a
            padding step, where the state is carried over unchanged. Set
            automatically by `Embedding(mask_zero=True)` or `Masking`.
        training: Whether dropout is applied.
        initial_state: Optional initial state `(batch, units)` or a list
            holding it. Default: zeros.

    Example:

    >>> import numpy as np, textgru
    >>> gru = textgru.GRU(4, return_sequences=True, return_state=True)
    >>> outputs, state = gru(np.zeros((2, 5, 3), "float32"))
    >>> tuple(outputs.shape), tuple(state.shape)
    ((2, 5, 4), (2, 4))
    """

    @_cell_or_its_arguments
    def __init__(
        self,
        units=None,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=False,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        cell=None,
        fast_path="auto",
        use_cudnn=None,
        **kwargs,
    ):
        if use_cudnn is not None:  # Keras's name, for code written for Keras
            if not (isinstance(use_cudnn, bool) or use_cudnn == "auto"):
                raise InvalidArgumentError(
                    "Expected `use_cudnn` to be 'auto', True or False. Received: "
                    f"use_cudnn={use_cudnn!r}"
                )
            if fast_path != "auto" and fast_path != use_cudnn:
                raise InvalidArgumentError(
                    "`use_cudnn` is Keras's name for `fast_path`; give one of them. "
                    f"Received: fast_path={fast_path!r}, use_cudnn={use_cudnn!r}"
                )
            fast_path = use_cudnn
        if not (isinstance(fast_path, bool) or fast_path == "auto"):
            raise InvalidArgumentError(
                "Expected `fast_path` to be 'auto', True or False. Received: "
                f"fast_path={fast_path!r}"
            )
        own_cell = cell is None
        if own_cell:
            cell = GRUCell(
                units,
                activation=activation,
                recurrent_activation=recurrent_activation,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer,
                bias_initializer=bias_initializer,
                kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer,
                kernel_constraint=kernel_constraint,
                recurrent_constraint=recurrent_constraint,
                bias_constraint=bias_constraint,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                reset_after=reset_after,
                seed=seed,
                dtype=kwargs.get("dtype"),
                trainable=kwargs.get("trainable", True),
                name="gru_cell",
            )
        else:
            _check_cell(cell)
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        # A layer made of cell arguments saves them flat, as
        # keras.layers.GRU does; one given a cell saves the cell.
        self._own_cell = own_cell
        self.fast_path = fast_path
        if fast_path is True:
            self._refuse_fast_path(
                recurrence.why_not(cell, unroll=unroll, requested=True)
            )

    units = _from_cell("units")
    activation = _from_cell("activation")
    recurrent_activation = _from_cell("recurrent_activation")
    use_bias = _from_cell("use_bias")
    kernel_initializer = _from_cell("kernel_initializer")
    recurrent_initializer = _from_cell("recurrent_initializer")
    bias_initializer = _from_cell("bias_initializer")
    kernel_regularizer = _from_cell("kernel_regularizer")
    recurrent_regularizer = _from_cell("recurrent_regularizer")
    bias_regularizer = _from_cell("bias_regularizer")
    kernel_constraint = _from_cell("kernel_constraint")
    recurrent_constraint = _from_cell("recurrent_constraint")
    bias_constraint = _from_cell("bias_constraint")
    dropout = _from_cell("dropout")
    recurrent_dropout = _from_cell("recurrent_dropout")
    reset_after = _from_cell("reset_after")
    seed = _from_cell("seed")

    def _check_rank(self, shape):
        if len(shape) != 3:
            raise InvalidArgumentError(
                f"Expected the input of {self.__class__.__name__} layer "
                f"'{self.name}' to have rank 3 (batch, timesteps, features); "
                "put an Embedding layer before it or add a time axis. "
                f"Received: input shape={tuple(shape)}"
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_rank(sequences.shape)
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def _refuse_fast_path(self, reason):
        if reason is not None:
            raise InvalidArgumentError(
                f"Layer '{self.name}' has fast_path=True, but its fast loop cannot "
                f"run: {reason}. Pass fast_path='auto' to fall back to the plain "
                "loop where it cannot"
            )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if training and getattr(cell, "dropout", 0) > 0:
            # The mask `keras.layers.RNN` cached for this batch, one per
            # sequence, broadcast over time.
            dropout_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(dropout_mask, axis=1)
        if self.fast_path is not False and recurrence.cudnn_may_run(cell, training):
            try:
                return self._cudnn(sequences, initial_state[0], mask)
            except NotImplementedError:
                pass  # Keras's rules: cuDNN cannot run this batch
        if self.fast_path is not False:
            reason = recurrence.why_not(
                cell, bool(training), self.unroll, requested=self.fast_path is True
            )
            if self.fast_path is True:
                self._refuse_fast_path(reason)
            if reason is None:
                return self._whole_sequence(sequences, initial_state[0], mask, training)
        zero_output_for_mask = self.zero_output_for_mask

        weights = cell.step_weights()

        def new_state(x_t, h_tm1):
            # The input product stays inside the loop: TensorFlow overlaps it
            # with the recurrent chain, which one big product up front
            # cannot be (that was slower in inference on 2 cores).
            return checked_gate_values(cell, x_t, h_tm1, weights, training).state

        if mask is None:

            def step(x_t, states):
                h = new_state(x_t, states[0])
                return h, [h]

            inputs = sequences
        else:
            # Masking is done here rather than by the backend loop, whose
            # output at leading masked steps differs between backends.
            def step(inputs_t, states):
                x_t, keep = inputs_t
                h_tm1 = states[0]
                # A masked step keeps the previous state ...
                h = ops.where(keep, new_state(x_t, h_tm1), h_tm1)
                # ... and outputs it, or zeros (as Bidirectional asks for).
                if zero_output_for_mask:
                    return ops.where(keep, h, ops.zeros_like(h)), [h]
                return h, [h]

            inputs = (sequences, ops.expand_dims(ops.cast(mask, "bool"), -1))

        # Pass the length even when it is only known at run time: with a mask
        # the inputs are a tuple, and the TensorFlow loop's fallback reads
        # `inputs.shape`, which a tuple lacks. That loop tests the argument
        # with `or` (a symbolic tensor cannot be a bool) and then only takes
        # its maximum as the loop bound, so a run-time length goes in a list.
        length = sequences.shape[1]
        if length is None:
            length = [ops.shape(sequences)[1]]
        return keras_backend.rnn(
            step,
            inputs,
            list(initial_state),
            go_backwards=self.go_backwards,
            unroll=self.unroll,
            input_length=length,
            return_all_outputs=self.return_sequences,
        )

    def _cudnn(self, sequences, h0, mask):
        """cuDNN's GRU through Keras's own backend, as `keras.layers.GRU`
        runs it (same weights, same layout); `NotImplementedError` where
        cuDNN cannot run."""
        cell = self.cell
        outputs = keras_backend.gru(
            sequences,
            h0,
            mask,
            kernel=cell.kernel,
            recurrent_kernel=cell.recurrent_kernel,
            bias=cell.bias,
            activation=cell.activation,
            recurrent_activation=cell.recurrent_activation,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
            unroll=self.unroll,
            reset_after=cell.reset_after,
        )
        if keras_backend.backend() == "tensorflow":
            self.supports_jit = False  # cuDNN ops are not XLA's (as in Keras)
        return outputs

    def _whole_sequence(self, sequences, h0, mask, training):
        """The fast path (`textgru.layers.recurrence`), returning what the
        plain path's loop returns, in the same layout."""
        cell = self.cell
        units = cell.units
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        # W x + b for every step in one product, time-major.
        projected = ops.matmul(ops.transpose(sequences, (1, 0, 2)), cell.kernel)
        recurrent_bias = ops.zeros((3 * units,), dtype=projected.dtype)
        if cell.use_bias:
            bias = ops.convert_to_tensor(cell.bias)
            if cell.reset_after:
                input_bias, recurrent_bias = bias[0], bias[1]
            else:
                input_bias = bias
            projected = projected + input_bias
        keep = None
        if mask is not None:
            keep = ops.expand_dims(ops.transpose(ops.cast(mask, projected.dtype)), -1)
        states, last_state = recurrence.recurrence(
            projected,
            h0,
            ops.convert_to_tensor(cell.recurrent_kernel),
            recurrent_bias,
            keep,
            cell.reset_after,
            training=bool(training),
        )
        if keep is not None and self.zero_output_for_mask:
            states = states * keep
        outputs = ops.transpose(states, (1, 0, 2))
        return outputs[:, -1], outputs, [last_state]

    def get_config(self):
        base_config = super().get_config()
        config = {
            "fast_path": self.fast_path,
            "activity_regularizer": keras.regularizers.serialize(
                self.activity_regularizer
            ),
        }
        if self._own_cell:
            del base_config["cell"]
            cell_config = self.cell.get_config()
            config.update({name: cell_config[name] for name in _CELL_ARGUMENTS})
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "cell" in config:
            config["cell"] = keras.saving.deserialize_keras_object(
                config["cell"], custom_objects=custom_objects
            )
        return cls(**config)
