"""Moving GRU weights between textgru, `keras.layers.GRU` and PyTorch `nn.GRU`.

textgru and Keras share one layout (gate blocks z | r | h), so conversion
between them is a copy. PyTorch orders the gate blocks r | z | n, stores
weights transposed (`(3 * units, in)`), and only has the `reset_after=True`
form. Everything here is NumPy; torch is never imported.
"""

import keras
import numpy as np

from textgru.errors import InvalidArgumentError
from textgru.layers.gru import _CELL_ARGUMENTS, GRU
from textgru.layers.gru_cell import GRUCell, is_stock_gru

_WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


def _built_cell(layer, role):
    cell = getattr(layer, "cell", layer)
    if not hasattr(cell, "reset_after") or not hasattr(cell, "units"):
        raise InvalidArgumentError(
            f"Expected `{role}` to be a GRU layer or GRU cell (textgru or "
            f"keras). Received: {role}={layer!r}"
        )
    if isinstance(cell, GRUCell) and not is_stock_gru(cell):
        raise InvalidArgumentError(
            f"Expected `{role}` to compute the stock GRU equations, whose weights "
            f"mean the same in textgru, Keras and PyTorch. Received: a "
            f"{type(cell).__name__}, which may compute others"
        )
    if not cell.built:
        raise InvalidArgumentError(
            f"Expected `{role}` to be built (call it on data or call "
            f"`build(input_shape)` first). Received an unbuilt {type(layer).__name__}"
        )
    return cell


def copy_gru_weights(source, target):
    """Copies `kernel`, `recurrent_kernel` and `bias` from one GRU to another.

    Works between any of `textgru.GRU`, `textgru.GRUCell`,
    `keras.layers.GRU` and `keras.layers.GRUCell`; both must be built with
    the same input size and agree on `units`, `reset_after` and `use_bias`.

    Args:
        source: The layer or cell to read the weights from.
        target: The layer or cell to write them into.

    Example:

    >>> import numpy as np, keras, textgru
    >>> theirs = keras.layers.GRU(4, reset_after=False)
    >>> ours = textgru.GRU(4)
    >>> x = np.ones((1, 3, 2), "float32")
    >>> _ = theirs(x), ours(x)
    >>> textgru.layers.copy_gru_weights(theirs, ours)
    >>> bool(np.allclose(theirs(x), ours(x), atol=1e-6))
    True
    """
    src = _built_cell(source, "source")
    dst = _built_cell(target, "target")
    for name in ("units", "reset_after", "use_bias"):
        if getattr(src, name) != getattr(dst, name):
            raise InvalidArgumentError(
                f"Cannot copy GRU weights between layers with different "
                f"`{name}`. Received: source {name}={getattr(src, name)}, "
                f"target {name}={getattr(dst, name)}"
            )
    if tuple(src.kernel.shape) != tuple(dst.kernel.shape):
        raise InvalidArgumentError(
            "Cannot copy GRU weights between layers built for different input "
            f"sizes. Received: source kernel shape={tuple(src.kernel.shape)}, "
            f"target kernel shape={tuple(dst.kernel.shape)}"
        )
    for name in _WEIGHT_NAMES:
        if getattr(src, name, None) is not None:
            getattr(dst, name).assign(keras.ops.convert_to_numpy(getattr(src, name)))


def _rebuilt_like(layer, new_layer):
    cell = _built_cell(layer, "layer")
    batch_size = None
    if layer.stateful:
        batch_size = keras.ops.shape(layer.states[0])[0]
    new_layer.build((batch_size, None, cell.kernel.shape[0]))
    copy_gru_weights(layer, new_layer)
    return new_layer


def keras_gru_to_textgru(layer):
    """Returns a `textgru.GRU` with the config and weights of a built
    `keras.layers.GRU` (including its `reset_after`, which Keras defaults to
    `True`)."""
    config = layer.get_config()
    config.pop("use_cudnn", None)
    return _rebuilt_like(layer, GRU.from_config(config))


def textgru_to_keras_gru(layer):
    """Returns a `keras.layers.GRU` with the config and weights of a built
    `textgru.GRU`."""
    _built_cell(layer, "layer")
    config = layer.get_config()
    config.pop("fast_path")
    if "cell" in config:  # a GRU given its GRUCell: the cell's arguments, flat
        del config["cell"]
        cell_config = layer.cell.get_config()
        config.update({name: cell_config[name] for name in _CELL_ARGUMENTS})
    return _rebuilt_like(layer, keras.layers.GRU.from_config(config))


# Keras gate blocks are z | r | h; PyTorch's are r | z | n.
def _keras_to_torch_gates(array, axis):
    z, r, h = np.split(np.asarray(array), 3, axis=axis)
    return np.concatenate([r, z, h], axis=axis)


def _torch_to_keras_gates(array, axis):
    r, z, n = np.split(np.asarray(array), 3, axis=axis)
    return np.concatenate([z, r, n], axis=axis)


def _torch_names(layer_index, suffix):
    tail = f"_l{layer_index}{suffix}"
    return {
        name: name + tail for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }


def _check_torch_compatible(cell):
    if not cell.reset_after:
        raise InvalidArgumentError(
            "PyTorch nn.GRU only has the reset-after form; build the layer "
            "with reset_after=True. Received: reset_after=False"
        )
    names = (
        keras.activations.serialize(cell.activation),
        keras.activations.serialize(cell.recurrent_activation),
    )
    if names != ("tanh", "sigmoid"):
        raise InvalidArgumentError(
            "PyTorch nn.GRU uses activation='tanh' and "
            "recurrent_activation='sigmoid'. Received: "
            f"activation={names[0]!r}, recurrent_activation={names[1]!r}"
        )


def to_torch_state_dict(layer, layer_index=0, suffix=""):
    """Returns the weights of a built `reset_after=True` GRU as a PyTorch
    `nn.GRU` state dict of float32 NumPy arrays.

    Args:
        layer: A built `textgru.GRU`, `textgru.GRUCell` or Keras GRU.
        layer_index: The `k` in PyTorch's `weight_ih_l{k}` names.
        suffix: `"_reverse"` for the backward direction of a bidirectional
            `nn.GRU`, else `""`.

    Example (with torch installed):
        `torch_gru.load_state_dict({k: torch.from_numpy(v) for k, v in
        to_torch_state_dict(layer).items()})`
    """
    cell = _built_cell(layer, "layer")
    _check_torch_compatible(cell)
    names = _torch_names(layer_index, suffix)
    kernel = keras.ops.convert_to_numpy(cell.kernel)
    recurrent = keras.ops.convert_to_numpy(cell.recurrent_kernel)
    state = {
        names["weight_ih"]: _keras_to_torch_gates(kernel, axis=1).T,
        names["weight_hh"]: _keras_to_torch_gates(recurrent, axis=1).T,
    }
    if cell.use_bias:
        bias = keras.ops.convert_to_numpy(cell.bias)
        state[names["bias_ih"]] = _keras_to_torch_gates(bias[0], axis=0)
        state[names["bias_hh"]] = _keras_to_torch_gates(bias[1], axis=0)
    return {k: np.ascontiguousarray(v, dtype="float32") for k, v in state.items()}


def _to_numpy(value):
    # A torch tensor, without importing torch.
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype="float32")


def from_torch_state_dict(layer, state_dict, layer_index=0, suffix=""):
    """Loads a PyTorch `nn.GRU` state dict into a `reset_after=True` GRU.

    The values may be torch tensors or NumPy arrays. An unbuilt layer is
    built for the input size the state dict implies.

    Args:
        layer: A `textgru.GRU`, `textgru.GRUCell` or Keras GRU with
            `reset_after=True` and the same `units`.
        state_dict: The mapping from `nn.GRU.state_dict()`.
        layer_index: Which of PyTorch's stacked layers (`_l{k}`) to read.
        suffix: `"_reverse"` for the backward direction, else `""`.
    """
    names = _torch_names(layer_index, suffix)
    missing = [
        n for n in (names["weight_ih"], names["weight_hh"]) if n not in state_dict
    ]
    if missing:
        raise InvalidArgumentError(
            f"The state dict has no {missing[0]!r}; check `layer_index` and "
            f"`suffix`. Received keys: {sorted(state_dict)}"
        )
    weight_ih = _to_numpy(state_dict[names["weight_ih"]])
    cell = getattr(layer, "cell", layer)
    if not cell.built:
        shape = (
            (weight_ih.shape[1],) if cell is layer else (None, None, weight_ih.shape[1])
        )
        layer.build(shape)
    _check_torch_compatible(cell)
    has_bias = names["bias_ih"] in state_dict
    if has_bias != cell.use_bias:
        raise InvalidArgumentError(
            "The state dict and the layer disagree on biases. Received: "
            f"state dict has biases={has_bias}, layer use_bias={cell.use_bias}"
        )
    values = {
        "kernel": _torch_to_keras_gates(weight_ih.T, axis=1),
        "recurrent_kernel": _torch_to_keras_gates(
            _to_numpy(state_dict[names["weight_hh"]]).T, axis=1
        ),
    }
    if has_bias:
        values["bias"] = np.stack(
            [
                _torch_to_keras_gates(_to_numpy(state_dict[names["bias_ih"]]), axis=0),
                _torch_to_keras_gates(_to_numpy(state_dict[names["bias_hh"]]), axis=0),
            ]
        )
    for name, value in values.items():
        variable = getattr(cell, name)
        if tuple(variable.shape) != value.shape:
            raise InvalidArgumentError(
                f"The state dict's {name} has shape {value.shape} in Keras "
                f"layout but the layer's has {tuple(variable.shape)}; check "
                "`units` and the input size."
            )
        variable.assign(value)
