"""The import paths of textgru 0.1's flat layout, kept working.

When the package was layered (core, training, interpret, tasks), 12 modules
moved. Code written against the old paths (`from textgru.classification
import train_classifier`, `textgru.inspect.gate_activations`,
`from textgru.training import ClassifierConfig`) still runs: the old names
are aliases of the new modules. New code should use the new paths (see
docs/architecture.md).
"""

import sys

from textgru import interpret, tasks, training
from textgru.interpret import gates, plots
from textgru.tasks import classification, demo, language_modeling, metrics, transfer
from textgru.training import distribute, launch, optimizers, run_directory, schedules

MOVED = {
    "classification": classification,
    "language_modeling": language_modeling,
    "transfer": transfer,
    "evaluation": metrics,
    "demo": demo,
    "inspect": gates,
    "plots": plots,
    "run": run_directory,
    "distribute": distribute,
    "launch": launch,
    "optimizers": optimizers,
    "schedules": schedules,
}
# `textgru.training` was a module holding every task's config.
TRAINING_NAMES = ("ClassifierConfig", "LanguageModelConfig", "TransferConfig")


def install(package):
    """Make the old paths of `package` (the `textgru` module) work."""
    for name, module in MOVED.items():
        sys.modules[f"{package.__name__}.{name}"] = module
        setattr(package, name, module)
    for name in TRAINING_NAMES:
        setattr(training, name, getattr(tasks, name))
    return interpret
