"""Runs written before the package was layered (run format 2, flat models)
still load, and give the numbers that version computed from them
(tests/fixtures/old_runs, made by the commands in its README)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from textgru import cli
from textgru.interpret import gate_activations
from textgru.models import GRULanguageModel, TextClassifier
from textgru.tasks import (
    ClassifierConfig,
    ClassifierRun,
    LanguageModelRun,
    TransferConfig,
    load_run,
)

OLD = Path(__file__).parents[1] / "fixtures" / "old_runs"
EXPECTED = json.loads((OLD / "expected.json").read_text(encoding="utf-8"))
TEXTS = EXPECTED["texts"]


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    """A copy of the old runs (tests never change the fixture)."""
    folder = tmp_path_factory.mktemp("old") / "old_runs"
    shutil.copytree(OLD, folder)
    return folder


@pytest.mark.parametrize("name", ["classify", "transfer"])
def test_old_classifier_runs_give_the_same_numbers(old, name):
    run = ClassifierRun.load(old / name)
    assert isinstance(run.model, TextClassifier)  # rebuilt over a backbone
    np.testing.assert_allclose(
        run.predict_proba(TEXTS), EXPECTED[name]["probabilities"], atol=1e-6
    )
    np.testing.assert_allclose(
        gate_activations(run, TEXTS[1]).update, EXPECTED[name]["update"], atol=1e-6
    )
    assert isinstance(run.config, TransferConfig) == (name == "transfer")
    # Regularizers newer than the run read as off, as the run trained, though
    # a new run has them on; its model has adversarial training off too.
    assert run.config.adversarial == 0.0 and run.model.adversarial == 0.0
    assert ClassifierConfig().adversarial > 0


def test_old_language_model_run_gives_the_same_numbers(old):
    run = LanguageModelRun.load(old / "lm")
    assert isinstance(run.model, GRULanguageModel)
    expected = EXPECTED["lm"]
    assert (
        run.generate("to be", max_new_tokens=12, seed=3, temperature=1.0)
        == (expected["generated"])
    )
    ids = np.array([run.tokenizer.encode(text) for text in expected["prompts"]])
    run.model.reset_states()
    np.testing.assert_allclose(
        run.model.predict_on_batch(ids), expected["logits"], atol=1e-5
    )
    np.testing.assert_allclose(
        gate_activations(run, "to be").update, expected["update"], atol=1e-6
    )


def test_old_runs_work_from_the_command_line(old, capsys):
    assert cli.main(["predict", str(old / "classify"), *TEXTS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[2] for line in lines] == TEXTS
    labels = [line.split("\t")[0] for line in lines]
    best = np.argmax(EXPECTED["classify"]["probabilities"], axis=1)
    assert labels == [["neg", "pos"][i] for i in best]
    data = str(OLD / "reviews.csv")
    evaluate = ["evaluate", str(old / "transfer"), "--dataset", data, "--json"]
    assert cli.main(evaluate) == 0
    assert json.loads(capsys.readouterr().out)["num_examples"] == 120
    assert cli.main(["generate", str(old / "lm"), "--seed", "3", "--prompt", "to"]) == 0
    assert capsys.readouterr().out.startswith("to")
    figure = old / "gates.png"
    assert cli.main(["gates", str(old / "lm"), "to be", "--out", str(figure)]) == 0
    assert figure.stat().st_size > 0
    assert type(load_run(old / "lm")) is LanguageModelRun


OLD_EXPORTS = OLD.parent / "old_exports"


def test_old_exports_load_and_give_the_same_numbers(tmp_path):
    """Exports of format 1 (a classifier's facts at the top of export.json)
    load and answer as their runs did, without TensorFlow in the way."""
    from textgru.deploy import runtime

    folder = tmp_path / "old_exports"
    shutil.copytree(OLD_EXPORTS, folder)
    classifier = runtime.load_export(folder / "classify")
    np.testing.assert_allclose(
        classifier.predict_proba(TEXTS), EXPECTED["classify"]["probabilities"],
        atol=1e-5,
    )  # fmt: skip
    gates = classifier.update_gates(TEXTS[1])["layers"][0]["update"]
    np.testing.assert_allclose(gates, EXPECTED["classify"]["update"], atol=1e-5)
    lm = runtime.load_export(folder / "lm")
    expected = EXPECTED["lm"]
    assert (
        lm.generate("to be", max_new_tokens=12, seed=3, temperature=1.0)
        == expected["generated"]
    )
