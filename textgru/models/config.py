"""The model section of a run's config (see `textgru._config`)."""

import dataclasses
import json

from textgru import _validation
from textgru._config import Section, field
from textgru.errors import InvalidArgumentError
from textgru.layers.cell_path import cell_path, import_cell
from textgru.models.backbone import GRU_CLASSES, WIDTH

DEFAULT_CELL = "textgru.layers:GRUCell"


@dataclasses.dataclass
class ModelConfig(Section):
    """The network: the `GRUBackbone`'s sizes, its cell and its dropout."""

    embed_dim: int = field(WIDTH, "embedding width", architecture=True)
    units: int = field(WIDTH, "GRU units (per direction)", architecture=True)
    num_layers: int = field(1, "stacked GRU layers", architecture=True)
    dropout: float = field(0.4, "dropout between layers and before the output")
    recurrent_dropout: float = field(0.0, "GRU dropout on the recurrent state")
    reset_after: bool = field(
        False, "GRU form: False is the textbook one", architecture=True
    )
    gru_layer: str = field(
        "textgru",
        "textgru, or keras (keras.layers.GRU, to compare)",
        architecture=True,
    )
    cell: str = field(
        DEFAULT_CELL,
        "the GRU's cell class as package.module:ClassName: your own GRUCell "
        "subclass, or textgru.layers:MGUCell or :LayerNormGRUCell (importable, "
        "registered with Keras; in Python also the class itself)",
        architecture=True,
    )
    cell_args: dict | None = field(
        None,
        "more keyword arguments of the cell, as a JSON object such as "
        "'{\"alpha\": 0.5}' (recorded in the run)",
        shown="none",
        architecture=True,
    )

    def __post_init__(self):
        if isinstance(self.cell, type):
            self.cell = cell_path(self.cell)
        super().__post_init__()
        for name in ("embed_dim", "units", "num_layers"):
            _validation.positive_int(name, getattr(self, name))
        for name in ("dropout", "recurrent_dropout"):
            _validation.rate(name, getattr(self, name))
        _validation.one_of("gru_layer", self.gru_layer, tuple(GRU_CLASSES))
        cell = import_cell(self.cell)
        if self.gru_layer == "keras" and (
            cell_path(cell) != DEFAULT_CELL or self.cell_args
        ):
            raise InvalidArgumentError(
                f"Your own cell runs in the textgru GRU only. Received: "
                f"cell={self.cell!r} with gru_layer='keras'; drop one"
            )
        if self.cell_args:
            self._check_cell_args(cell)

    def _check_cell_args(self, cell):
        """The cell's own arguments: JSON that the cell takes (made once to
        see), and none that a field of this section sets."""
        own = sorted(
            set(self.cell_args) & {"units", "reset_after", "recurrent_dropout"}
        )
        if own:
            raise InvalidArgumentError(
                f"Set {', '.join(own)} with {'its' if len(own) == 1 else 'their'} "
                f"own field, not in `cell_args`. Received: cell_args={self.cell_args}"
            )
        try:
            json.dumps(self.cell_args, allow_nan=False)
            cell(self.units, **self.cell_args)
        except (TypeError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InvalidArgumentError(
                f"Expected `cell_args` that {cell.__name__} takes, as JSON values. "
                f"Received: cell_args={self.cell_args} ({reason})"
            ) from None

    @property
    def gru_class(self):
        """The recurrent layer class `gru_layer` names."""
        return GRU_CLASSES[self.gru_layer]

    @property
    def cell_class(self):
        """The cell class `cell` names."""
        return import_cell(self.cell)

    def backbone_options(self):
        """The keyword arguments of the model builders this section sets."""
        return {
            "embed_dim": self.embed_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "reset_after": self.reset_after,
            "gru_class": self.gru_class,
            "cell": self.cell_class,
            "cell_kwargs": self.cell_args,
        }
