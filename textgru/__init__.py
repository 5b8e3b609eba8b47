"""textgru: a Keras 3 toolkit for text classification and language modelling
built around a GRU written from its gate equations.

The packages, from the bottom up (each imports only from those below it):
`layers`, `models`, `data` (the library core); `training` (configs,
optimizers, callbacks, the fit loop, run directories, distribution);
`interpret` (gate activations and plots); `tasks` (classification, language
modelling, transfer); the `textgru` command (`cli`).

`import textgru` imports them all, quietly (`textgru._quiet`), so that every
textgru class is registered with Keras and a saved `.keras` model reloads
with `keras.saving.load_model`. The `textgru` command imports only what its
command needs (`textgru_cli`).
"""

import importlib
import os

from textgru import _compat, _quiet
from textgru._version import __version__

# Set by the `textgru` command's entry point (`textgru_cli`): load lazily.
LAZY = "TEXTGRU_LAZY_IMPORT"

_PUBLIC = {
    "GRU": "textgru.layers",
    "GRUCell": "textgru.layers",
    "InvalidArgumentError": "textgru.errors",
    "TextgruError": "textgru.errors",
    "ClassifierConfig": "textgru.tasks",
    "ClassifierRun": "textgru.tasks",
    "LanguageModelConfig": "textgru.tasks",
    "LanguageModelRun": "textgru.tasks",
    "TransferConfig": "textgru.tasks",
    "load": "textgru.tasks",
    "load_run": "textgru.tasks",
    "train_classifier": "textgru.tasks",
    "train_language_model": "textgru.tasks",
}
_PACKAGES = ("data", "errors", "interpret", "layers", "models", "tasks", "training")


def _load_all():
    """Import every package (registering textgru's classes with Keras) and
    make the old module paths work."""
    with _quiet.start_up():
        for name in _PACKAGES:
            globals()[name] = importlib.import_module(f"textgru.{name}")
        _compat.install(importlib.import_module(__name__))
    for name, module in _PUBLIC.items():
        globals()[name] = getattr(importlib.import_module(module), name)


def __getattr__(name):
    if name in _PUBLIC or name in _PACKAGES or name in _compat.MOVED:
        _load_all()
        return globals()[name]
    raise AttributeError(f"module 'textgru' has no attribute {name!r}")


if not os.environ.get(LAZY):
    _load_all()

__all__ = [*_PUBLIC, *_PACKAGES, "__version__"]
