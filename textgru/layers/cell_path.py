"""Naming a cell class by its import path, `package.module:ClassName`, as
configs and run directories record it.

A name the user gives (`--cell`, a config's `cell`) is imported: it is code
the user chose. A name read from a run folder is data, and importing it
would run whatever module it names (a `evilcell.py` left in the folder, or
any module on `sys.path`), so `recorded_cell` imports it only if it is one
of textgru's own cells or its module is already imported, unless the user
trusts the run (`trust_code=True`, `--trust-code`, or inside
`trusting_code()`), as Keras's `safe_mode` and Hugging Face's
`trust_remote_code` do.
"""

import contextlib
import contextvars
import importlib
import sys

import keras

# The package's own cells are named by it (cell_path is not imported by the
# package's __init__, so the package is whole by the time this runs).
import textgru.layers
from textgru.errors import InvalidArgumentError, UntrustedCodeError
from textgru.layers.gru import check_registered
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
    check_registered(cell_class, received=repr(path))
    return cell_class


# Whether the code a run folder names may be imported (see `trusting_code`).
_TRUSTED = contextvars.ContextVar("textgru_trust_code", default=False)


@contextlib.contextmanager
def trusting_code(trust=True):
    """Within the block, runs read from disk may import the cell module they
    name (`trust=False` changes nothing): what `--trust-code` does for a
    whole command."""
    token = _TRUSTED.set(_TRUSTED.get() or bool(trust))
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def safe_to_import(module_name):
    """Whether importing `module_name` runs no code the user did not choose:
    it is textgru's own, or already imported."""
    return (
        module_name == "textgru"
        or module_name.startswith("textgru.")
        or module_name in sys.modules
    )


def recorded_cell(path, where, trust_code=False):
    """The cell class a run folder (`where`) records as `path`, imported only
    if that runs no code the user did not choose (`safe_to_import`), or the
    user trusts the run (`trust_code`, or inside `trusting_code()`). Raises a
    one-line `UntrustedCodeError` otherwise, before anything is imported."""
    module_name = str(path).partition(":")[0]
    if not (trust_code or _TRUSTED.get() or safe_to_import(module_name)):
        raise UntrustedCodeError(
            f"{where} names its cell {path!r} from the module {module_name!r}, "
            "which is not imported, and textgru imports no code a run folder names; "
            f"if you trust this run, import {module_name} yourself first, or load "
            "it with trust_code=True"
        )
    return import_cell(path)
