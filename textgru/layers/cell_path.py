"""Naming a cell class by its import path, `package.module:ClassName`, as
configs and run directories record it."""

import importlib

import keras

# The package's own cells are named by it (cell_path is not imported by the
# package's __init__, so the package is whole by the time this runs).
import textgru.layers
from textgru.errors import InvalidArgumentError
from textgru.layers.gru_cell import GRUCell


def cell_path(cell_class):
    """`"package.module:ClassName"` of a cell class (`textgru.layers:Name`
    for textgru's own cells)."""
    if getattr(textgru.layers, cell_class.__name__, None) is cell_class:
        return f"textgru.layers:{cell_class.__name__}"
    return f"{cell_class.__module__}:{cell_class.__qualname__}"


def import_cell(path):
    """The cell class `path` (`"package.module:ClassName"`) names, checked to
    be a cell `textgru.GRU` can run (a `GRUCell` subclass, or a layer class
    with `step_weights` and `gate_values`) and registered with Keras, so
    that models made with it save and reload. Raises a one-line
    `InvalidArgumentError` saying what is wrong."""
    module_name, _, class_name = str(path).partition(":")
    if not module_name or not class_name:
        raise InvalidArgumentError(
            "Expected `cell` as package.module:ClassName, such as "
            f"textgru.layers:MGUCell. Received: cell={path!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the module's own import may fail in any way
        raise InvalidArgumentError(
            f"Cannot import module {module_name!r} of cell={path!r} "
            f"({type(error).__name__}: {error}); install it or put its folder on "
            "PYTHONPATH"
        ) from None
    cell_class = module
    for part in class_name.split("."):
        cell_class = getattr(cell_class, part, None)
    is_cell = isinstance(cell_class, type) and (
        issubclass(cell_class, GRUCell)
        or (
            issubclass(cell_class, keras.layers.Layer)
            and hasattr(cell_class, "gate_values")
            and hasattr(cell_class, "step_weights")
        )
    )
    if not is_cell:
        raise InvalidArgumentError(
            f"Expected `cell` to name a GRUCell subclass (or a cell with "
            f"step_weights and gate_values). Received: cell={path!r}, which is "
            f"{'missing' if cell_class is None else repr(cell_class)}"
        )
    registered = keras.saving.get_registered_name(cell_class)
    if keras.saving.get_registered_object(registered) is not cell_class:
        raise InvalidArgumentError(
            f"Register {class_name} with "
            "@keras.saving.register_keras_serializable() so that models made with "
            f"it save and reload. Received: cell={path!r}"
        )
    return cell_class
