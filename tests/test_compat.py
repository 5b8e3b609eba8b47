"""Code written against textgru 0.1's flat modules keeps working: the old
import paths are the new modules."""

import importlib

import pytest

import textgru

OLD_PATHS = {
    "textgru.classification": "textgru.tasks.classification",
    "textgru.language_modeling": "textgru.tasks.language_modeling",
    "textgru.transfer": "textgru.tasks.transfer",
    "textgru.evaluation": "textgru.tasks.metrics",
    "textgru.demo": "textgru.tasks.demo",
    "textgru.inspect": "textgru.interpret.gates",
    "textgru.plots": "textgru.interpret.plots",
    "textgru.run": "textgru.training.run_directory",
    "textgru.distribute": "textgru.training.distribute",
    "textgru.launch": "textgru.training.launch",
    "textgru.optimizers": "textgru.training.optimizers",
    "textgru.schedules": "textgru.training.schedules",
}


@pytest.mark.parametrize("old, new", OLD_PATHS.items())
def test_old_module_paths_are_the_new_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)
    assert getattr(textgru, old.rsplit(".", 1)[1]) is importlib.import_module(new)


def test_old_names_documented_in_0_1_still_import():
    from textgru.classification import ClassifierRun, train_classifier
    from textgru.inspect import gate_activations
    from textgru.language_modeling import LanguageModelRun, train_language_model
    from textgru.optimizers import DiscriminativeAdamW
    from textgru.schedules import SlantedTriangular

    from textgru.training import ClassifierConfig, LanguageModelConfig, TransferConfig

    assert ClassifierConfig is textgru.tasks.ClassifierConfig
    assert TransferConfig is textgru.tasks.TransferConfig
    assert LanguageModelConfig is textgru.tasks.LanguageModelConfig
    assert train_classifier is textgru.tasks.train_classifier
    assert ClassifierRun is textgru.tasks.ClassifierRun
    assert train_language_model is textgru.tasks.train_language_model
    assert LanguageModelRun is textgru.tasks.LanguageModelRun
    assert gate_activations is textgru.interpret.gate_activations
    assert DiscriminativeAdamW is textgru.training.DiscriminativeAdamW
    assert SlantedTriangular is textgru.training.SlantedTriangular
    assert textgru.transfer.pretraining_config().tokenizer == "bpe"
