"""textgru: a Keras 3 toolkit for text classification and language modelling
built around a GRU written from its gate equations.

The packages, from the bottom up (each imports only from those below it):
`layers`, `models`, `data` (the library core); `training` (configs,
optimizers, callbacks, the fit loop, run directories, distribution);
`interpret` (gate activations and plots); `tasks` (classification, language
modelling, transfer); the `textgru` command (`cli`).

`import textgru` is light: it imports no backend. Each name loads on first
use (`textgru.GRU`, `textgru.tasks`, ...), and then all of them are
imported, quietly (`textgru._quiet`). So that every textgru class is
registered with Keras, and a saved `.keras` model reloads with
`keras.saving.load_model` after `import textgru`, they are also all imported
as soon as Keras is: at once if it already was, else right after the
program imports it (`_after_keras`). `textgru.load` on an export
(`textgru.deploy`) imports neither. The `textgru` command imports only what
its command needs (`textgru_cli`).
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

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
    "MultiLabelConfig": "textgru.tasks",
    "MultiLabelRun": "textgru.tasks",
    "RegressionConfig": "textgru.tasks",
    "RegressorRun": "textgru.tasks",
    "TransferConfig": "textgru.tasks",
    "load_run": "textgru.tasks",
    "train_classifier": "textgru.tasks",
    "train_language_model": "textgru.tasks",
    "train_multi_label": "textgru.tasks",
    "train_regressor": "textgru.tasks",
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


# Names that load without the backend: `load` reads an export with
# onnxruntime alone, and a run with the tasks (which import the backend).
_LIGHT = {"load": "textgru.deploy.loading"}


def __getattr__(name):
    if name in _LIGHT:
        value = getattr(importlib.import_module(_LIGHT[name]), name)
        globals()[name] = value
        return value
    if name in _PUBLIC or name in _PACKAGES or name in _compat.MOVED:
        _load_all()
        return globals()[name]
    raise AttributeError(f"module 'textgru' has no attribute {name!r}")


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Runs `_load_all` right after `keras` is imported (once), so textgru's
    classes are registered with Keras before any model is loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        real = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return real.create_module(spec)

            def exec_module(self, module):
                real.exec_module(module)
                if not _importing_textgru():
                    try:
                        _load_all()
                    except ImportError:
                        pass  # (textgru's names raise it again when used)

        spec.loader = Loader()
        return spec


def _importing_textgru():
    """Whether a textgru module is being imported (it is importing Keras for
    itself, and registers its own classes; loading the rest now would meet
    it half made)."""
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if name.startswith("textgru.") and getattr(spec, "_initializing", False):
            return True
    return False


def _after_keras():
    if "keras" in sys.modules:
        _load_all()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())


_quiet.configure()
_compat.add_finder()
if not os.environ.get(LAZY):
    _after_keras()

__all__ = [*_PUBLIC, *_LIGHT, *_PACKAGES, "__version__"]
