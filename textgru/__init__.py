"""textgru: a Keras 3 toolkit for text classification and language modelling
built around a GRU written from its gate equations."""

# schedules and optimizers register their classes, so saved models that use
# them load.
from textgru import (
    data,
    errors,
    inspect,
    layers,
    models,
    optimizers,
    plots,
    schedules,
)
from textgru.errors import InvalidArgumentError, TextgruError
from textgru.layers import GRU, GRUCell

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "GRUCell",
    "InvalidArgumentError",
    "TextgruError",
    "data",
    "errors",
    "inspect",
    "layers",
    "models",
    "optimizers",
    "plots",
    "schedules",
    "__version__",
]
