"""The recurrent layer the model builders stack: a GRU over the cell asked for."""

from textgru.errors import InvalidArgumentError
from textgru.layers import GRU, GRUCell

# Layer options `Bidirectional` and stacking decide, never the cell.
_LAYER_OPTIONS = {"name", "trainable", "dtype", "units"}


def recurrent_layer(
    units,
    *,
    gru_class=GRU,
    cell=GRUCell,
    cell_kwargs=None,
    recurrent_dropout=0.0,
    reset_after=False,
    **layer_kwargs,
):
    """A `gru_class(units, ...)` layer, or a `textgru.GRU` over
    `cell(units, **cell_kwargs)` for another cell class.

    `recurrent_dropout` and `reset_after` go to the cell unless `cell_kwargs`
    names them; they are passed only when they differ from the defaults, so
    a cell that lacks them works. `layer_kwargs` go to the layer
    (`return_sequences`, `name`, ...).
    """
    cell_kwargs = dict(cell_kwargs or {})
    if cell is GRUCell and not cell_kwargs:
        return gru_class(
            units,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            **layer_kwargs,
        )
    if gru_class is not GRU:
        raise InvalidArgumentError(
            f"Your own cell runs in textgru.GRU only. Received: cell="
            f"{getattr(cell, '__name__', cell)!r} with {gru_class.__name__}; "
            "use the textgru GRU layer"
        )
    if recurrent_dropout:
        cell_kwargs.setdefault("recurrent_dropout", recurrent_dropout)
    if reset_after:
        cell_kwargs.setdefault("reset_after", reset_after)
    try:
        made = cell(units, **cell_kwargs)
    except TypeError as error:  # an argument the cell does not take
        raise InvalidArgumentError(
            f"Expected arguments that {getattr(cell, '__name__', cell)} takes. "
            f"Received: cell_kwargs={cell_kwargs} ({error})"
        ) from None
    return GRU(cell=made, **layer_kwargs)


def cell_options(cell):
    """`(cell class, keyword arguments)` that rebuild a cell like `cell` (a
    layer's, for a model made from another, such as a classifier from a
    language model)."""
    config = {
        name: value
        for name, value in cell.get_config().items()
        if name not in _LAYER_OPTIONS
    }
    return type(cell), config
