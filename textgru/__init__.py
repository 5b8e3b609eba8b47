"""textgru: a Keras 3 toolkit for text classification and language modelling
built around a GRU written from its gate equations.

The packages, from the bottom up (each imports only from those below it):
`layers`, `models`, `data` (the library core); `training` (configs,
optimizers, callbacks, the fit loop, run directories, distribution);
`interpret` (gate activations and plots); `tasks` (classification, language
modelling, transfer); the `textgru` command (`cli`).
"""

from textgru import (
    _compat,
    data,
    errors,
    interpret,
    layers,
    models,
    tasks,
    training,
)
from textgru._version import __version__
from textgru.errors import InvalidArgumentError, TextgruError
from textgru.layers import GRU, GRUCell
from textgru.tasks import (
    ClassifierConfig,
    ClassifierRun,
    LanguageModelConfig,
    LanguageModelRun,
    TransferConfig,
    load_run,
    train_classifier,
    train_language_model,
)

# Old module paths (textgru.classification, textgru.inspect, ...) keep working.
_compat.install(__import__(__name__))

__all__ = [
    "GRU",
    "ClassifierConfig",
    "ClassifierRun",
    "GRUCell",
    "InvalidArgumentError",
    "LanguageModelConfig",
    "LanguageModelRun",
    "TextgruError",
    "TransferConfig",
    "__version__",
    "data",
    "errors",
    "interpret",
    "layers",
    "load_run",
    "models",
    "tasks",
    "train_classifier",
    "train_language_model",
    "training",
]
