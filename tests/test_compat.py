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


def test_import_textgru_is_light_and_keras_still_finds_its_classes(tmp_path):
    """`import textgru` imports no backend; when the program then imports
    Keras, textgru's classes are registered before any model loads."""
    import json
    import subprocess
    import sys

    import numpy as np

    from textgru.models import build_classifier

    model = build_classifier(30, 3, embed_dim=4, units=3)
    ids = np.array([[4, 5, 6, 0]], np.int32)
    expected = np.asarray(model.predict_on_batch(ids))
    model.save(tmp_path / "model.keras")
    code = (
        "import json, sys\n"
        "import textgru\n"
        "light = not {'tensorflow', 'keras', 'jax'} & set(sys.modules)\n"
        "import keras, numpy as np\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "out = model.predict_on_batch(np.array([[4, 5, 6, 0]], 'int32'))\n"
        "print(json.dumps([light, type(model).__name__, np.asarray(out).tolist()]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "model.keras")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    light, kind, output = json.loads(result.stdout.splitlines()[-1])
    assert light and kind == "TextClassifier"
    np.testing.assert_allclose(output, expected, rtol=0, atol=1e-6)
