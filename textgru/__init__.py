"""textgru: a Keras 3 toolkit for text classification and language modelling
built around a GRU written from its gate equations."""

from textgru import data, errors, inspect, layers, models, plots
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
    "plots",
    "__version__",
]
