"""The model section of a run's config (see `textgru._config`)."""

import dataclasses

from textgru import _validation
from textgru._config import Section, field
from textgru.errors import InvalidArgumentError
from textgru.layers.cell_path import cell_path, import_cell
from textgru.models.backbone import GRU_CLASSES

DEFAULT_CELL = "textgru.layers:GRUCell"


@dataclasses.dataclass
class ModelConfig(Section):
    """The network: the `GRUBackbone`'s sizes, its cell and its dropout."""

    embed_dim: int = field(128, "embedding width", architecture=True)
    units: int = field(128, "GRU units (per direction)", architecture=True)
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
        if self.gru_layer == "keras" and cell_path(cell) != DEFAULT_CELL:
            raise InvalidArgumentError(
                f"Your own cell runs in the textgru GRU only. Received: "
                f"cell={self.cell!r} with gru_layer='keras'; drop one"
            )

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
        }
