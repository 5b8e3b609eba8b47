"""The import paths of textgru 0.1's flat layout, kept working.

When the package was layered (core, training, interpret, tasks), 12 modules
moved. Code written against the old paths (`from textgru.classification
import train_classifier`, `textgru.inspect.gate_activations`,
`from textgru.training import ClassifierConfig`) still runs: each old path
is the new module itself. New code should use the new paths (see
docs/architecture.md).
"""

import importlib
import importlib.abc
import importlib.util
import sys

# Old module name (under `textgru.`) -> the module that is now its home.
MOVED = {
    "classification": "textgru.tasks.classification",
    "language_modeling": "textgru.tasks.language_modeling",
    "transfer": "textgru.tasks.transfer",
    "evaluation": "textgru.tasks.metrics",
    "demo": "textgru.tasks.demo",
    "inspect": "textgru.interpret.gates",
    "plots": "textgru.interpret.plots",
    "run": "textgru.training.run_directory",
    "distribute": "textgru.training.distribute",
    "launch": "textgru.training.launch",
    "optimizers": "textgru.training.optimizers",
    "schedules": "textgru.training.schedules",
}
# `textgru.training` was a module holding every task's config.
TRAINING_NAMES = ("ClassifierConfig", "LanguageModelConfig", "TransferConfig")


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `textgru.<old name>` as the module that is now its home."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.partition(".")
        if package == "textgru" and old in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name.partition(".")[2]])

    def exec_module(self, module):
        pass  # the new module is already whole


def add_finder():
    """Make `import textgru.<old name>` find the module that is now its home."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(_OldPaths())


def install(package):
    """Make the old paths of `package` (the `textgru` module) work."""
    add_finder()
    for old, new in MOVED.items():
        setattr(package, old, importlib.import_module(new))
    training = importlib.import_module("textgru.training")
    tasks = importlib.import_module("textgru.tasks")
    for name in TRAINING_NAMES:
        setattr(training, name, getattr(tasks, name))
