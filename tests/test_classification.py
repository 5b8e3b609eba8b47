"""Classification end to end at a tiny size: the run directory, reloading in a
new process with identical predictions, evaluate, resume, and the errors."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.tiny import NEGATIVE, POSITIVE, TINY, labelled_rows, write_csv
from textgru.errors import DatasetError, RunError
from textgru.interpret.gates import gate_activations
from textgru.tasks import CLASSIFY, ClassifierConfig
from textgru.tasks.classification import ClassifierRun, train_classifier
from textgru.training import run_directory


@pytest.fixture(scope="module")
def trained(reviews, tmp_path_factory):
    """A whole run with the default adversarial training."""
    out = tmp_path_factory.mktemp("runs") / "binary"
    adversarial = ClassifierConfig().adversarial
    assert adversarial > 0
    config = ClassifierConfig(
        dataset=reviews, out=str(out), **{**TINY, "adversarial": adversarial}
    )
    return train_classifier(config, verbose=0)


def test_run_directory_holds_every_file(trained):
    assert sorted(os.listdir(trained.path)) == sorted(
        [*CLASSIFY.files, run_directory.MANIFEST]
    )
    assert not run_directory.workdir_for(trained.path).exists()
    info = json.loads((trained.path / "config.json").read_text())
    assert info["task"] == "classify" and info["run_format"] == run_directory.RUN_FORMAT
    assert info["label_names"] == ["neg", "pos"]
    assert ClassifierConfig.from_dict(info["config"]) == trained.config.replace(
        resume=False, overwrite=False
    )
    for figure in ("training_curves.png", "confusion_matrix.png", "gates.png"):
        png = (trained.path / figure).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", figure
    history = run_directory.read_history(trained.path / "history.csv")
    assert [row["epoch"] for row in history] == ["0", "1"]
    assert trained.history == history
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history[0])


def test_metrics_file(trained):
    metrics = json.loads((trained.path / "metrics.json").read_text())
    test = metrics["test"]
    assert set(test) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert set(test["per_class"]) == {"neg", "pos"}
    assert (
        sum(map(sum, test["confusion_matrix"])) == metrics["split_sizes"]["test"] == 32
    )
    assert metrics["num_parameters"] == trained.model.count_params() > 0
    assert metrics["train_seconds"] > 0 and metrics["epochs_run"] == 2
    # The words decide the label, so even this tiny model learns it.
    assert test["accuracy"] >= 0.8


def test_gates_of_a_run_directory(trained):
    """A run directory is enough to look inside its GRU; texts are cut to the
    run's max_length, as in training and prediction."""
    long_text = " ".join(["good"] * 20)
    acts = gate_activations(str(trained.path), ["a dull film", long_text])
    assert acts[0].tokens == ["a", "dull", "film"]
    assert len(acts[1].tokens) == trained.config.max_length == 12
    assert acts[0].update.shape == (3, trained.config.units)
    backward = gate_activations(trained, "a dull film", direction="backward")
    assert backward.layer.startswith("backward_")
    # The run object and its directory give the same values.
    np.testing.assert_array_equal(
        gate_activations(trained, "a dull film").update, acts[0].update
    )


def test_reloaded_run_predicts_exactly_as_in_training(trained):
    texts = ["good great fun film", "awful dull plot", "the film", "a"]
    expected = trained.predict_proba(texts)
    code = (
        "import json, sys\n"
        "from textgru.tasks.classification import ClassifierRun\n"
        "run = ClassifierRun.load(sys.argv[1])\n"
        "print(json.dumps(run.predict_proba(json.loads(sys.argv[2])).tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(trained.path), json.dumps(texts)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    # Equal to float32 rounding: the process that trained the model (with
    # adversarial training) and a fresh one may round differently by 1 ulp.
    np.testing.assert_allclose(
        np.array(json.loads(result.stdout)), expected, rtol=0, atol=1e-6
    )
    assert trained.predict(texts)[0]["label"] == "pos"
    assert trained.predict(texts)[1]["label"] == "neg"


def test_evaluate_reproduces_the_test_metrics(trained):
    again = ClassifierRun.load(trained.path).evaluate()
    assert again == trained.metrics["test"]


def test_predict_batches_do_not_change_results(trained):
    """Batched by length, each text's row still comes back in its place."""
    texts = [
        ("good film " * (i % 4 + 1) if i % 2 else "dull plot " * (i % 3 + 1)) + str(i)
        for i in range(37)
    ]
    alone = np.concatenate([trained.predict_proba([text]) for text in texts])
    many = trained.predict_proba(texts, batch_size=16)
    np.testing.assert_allclose(alone, many, atol=1e-6)


def test_multiclass_run(tmp_path):
    rng = np.random.default_rng(1)
    third = "question where when who why".split()
    rows = labelled_rows(rng, 300, [NEGATIVE, POSITIVE, third])
    path = write_csv(tmp_path / "topics.csv", rows, ["a", "b", "c"])
    run = train_classifier(
        ClassifierConfig(
            dataset=path, out=str(tmp_path / "run"), **{**TINY, "epochs": 3}
        ),
        verbose=0,
    )
    assert run.model.output_shape == (None, 3)
    assert run.metrics["test"]["label_names"] == ["a", "b", "c"]
    probabilities = ClassifierRun.load(tmp_path / "run").predict_proba(["question who"])
    assert probabilities.shape == (1, 3)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)


def test_same_seed_same_run(reviews, tmp_path):
    def train(name):
        config = ClassifierConfig(dataset=reviews, out=str(tmp_path / name), **TINY)
        return train_classifier(config, verbose=0)

    a, b = train("a"), train("b")
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)

    def history(run):  # every column but the wall time
        rows = run_directory.read_history(run.path / "history.csv")
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    assert history(a) == history(b)


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_run_that_died_writing_its_reports_resumes_without_training(
    reviews, tmp_path, monkeypatch
):
    from textgru.tasks import classification

    config = ClassifierConfig(dataset=reviews, out=str(tmp_path / "run"), **TINY)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(classification, "gate_figure", crash)
        with pytest.raises(KeyboardInterrupt):
            train_classifier(config, verbose=0)
    epochs = []

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs.append(epoch)

    run = train_classifier(config.replace(resume=True), callbacks=[Count()], verbose=0)
    assert epochs == []  # both epochs were done; only the reports were missing
    assert [row["epoch"] for row in run.history] == ["0", "1"]
    assert sorted(os.listdir(run.path)) == sorted(
        [*CLASSIFY.files, run_directory.MANIFEST]
    )


def test_interrupted_run_resumes(reviews, tmp_path):
    out = tmp_path / "run"
    config = ClassifierConfig(dataset=reviews, out=str(out), **{**TINY, "epochs": 3})
    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, callbacks=[_Interrupt()], verbose=0)
    work = run_directory.workdir_for(out)
    assert not out.exists() and work.is_dir()  # nothing that looks finished
    assert not (work / "metrics.json").exists()
    with pytest.raises(RunError, match="--resume"):
        train_classifier(config, verbose=0)
    with pytest.raises(RunError, match="other settings: units"):
        train_classifier(config.replace(resume=True, units=4), verbose=0)
    run = train_classifier(config.replace(resume=True), verbose=0)
    history = run_directory.read_history(out / "history.csv")
    assert [row["epoch"] for row in history] == ["0", "1", "2"]  # epoch 3 only was run
    steps_per_epoch = -(-256 // 16)
    assert int(run.model.optimizer.iterations.numpy()) == 3 * steps_per_epoch
    assert run.metrics["resumed"] is True
    assert not work.exists()
    assert sorted(os.listdir(out)) == sorted([*CLASSIFY.files, run_directory.MANIFEST])


def test_existing_run_is_not_overwritten_unless_asked(trained, reviews):
    config = ClassifierConfig(dataset=reviews, out=str(trained.path), **TINY)
    with pytest.raises(RunError, match="already exists; pass --overwrite"):
        train_classifier(config, verbose=0)
    with pytest.raises(RunError, match="Nothing to resume"):
        train_classifier(config.replace(out=str(trained.path) + "-x", resume=True))


def test_unlabelled_data_cannot_be_classified(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("".join(f"line {i}\n" for i in range(30)))
    with pytest.raises(DatasetError, match="no label column"):
        train_classifier(
            ClassifierConfig(dataset=str(path), out=str(tmp_path / "r"), **TINY)
        )
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()


def test_broken_run_directories(trained, tmp_path):
    import shutil

    with pytest.raises(RunError, match="No run directory"):
        ClassifierRun.load(tmp_path / "nothing")
    copy = tmp_path / "copy"
    shutil.copytree(trained.path, copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(RunError, match="incomplete: missing tokenizer.json"):
        ClassifierRun.load(copy)
    # Reports are not needed to use a run (runs made before one existed load).
    for report in ("gates.png", "confusion_matrix.png", "history.csv"):
        (copy / report).unlink()
    shutil.copy(trained.path / "tokenizer.json", copy)
    assert ClassifierRun.load(copy).predict(["good fun"]) == trained.predict(
        ["good fun"]
    )
    shutil.copy(trained.path / "tokenizer.json", copy)
    info = json.loads((copy / "config.json").read_text())
    info["run_format"] = 99
    (copy / "config.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="run format this textgru"):
        ClassifierRun.load(copy)
    (copy / "config.json").write_text("{not json")
    with pytest.raises(RunError, match="not valid JSON"):
        ClassifierRun.load(copy)
