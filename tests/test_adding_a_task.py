# ruff: noqa: I001 (the outline's imports stay as the docs show them)
"""The task contract of docs/architecture.md ("Adding a task") holds: a new
task written exactly as the outline shows (one file, with its registry
line, reusing a head of `textgru.heads`) goes the whole way: it trains from
the command line, evaluates, exports to ONNX, answers from the export where
TensorFlow cannot be imported, serves over HTTP and labels a file. The
outline in the docs is the code between the two marker lines below (checked
here, word for word)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import textgru
from tests.tiny import NEUTRAL
from textgru.training import run_directory

# --- the outline in docs/architecture.md starts here ---
import dataclasses

import tensorflow as tf

from textgru._config import field
from textgru.data import Preprocessor, load_dataset
from textgru.heads import Number
from textgru.models import build_regressor
from textgru.tasks import Task, TaskRun, register
from textgru.training import TrainConfig
from textgru.training.optimizers import make_optimizer


@dataclasses.dataclass
class LengthConfig(TrainConfig):
    out: str = field("runs/length", "run directory to write")


@dataclasses.dataclass
class LengthRun(TaskRun):
    config: LengthConfig

    @property
    def head(self):  # how the model's outputs become answers: a number each
        return Number()

    def predict(self, texts):  # what a user does with the run
        return self.head.predict(texts, self.outputs(texts))


def words(texts):
    return np.array([len(text.split()) for text in texts], "float32")


class LengthTask(Task):
    name = "length"  # textgru train length; config.json "task"
    help = "how many words a text has (a toy regression)"
    config_class, run_class = LengthConfig, LengthRun
    report_files = ("worst.txt",)  # beyond every run's own

    def load_data(self, config):  # a DatasetDict: train, validation, test
        source = config.data_source()
        return load_dataset(source, text_column=config.text_column)

    def preprocessor(self, config, tokenizer):
        return Preprocessor(tokenizer)

    def batches(self, config, split, tokenizer, *, training, drop_remainder):
        preprocessor = self.preprocessor(config, tokenizer)
        ids = preprocessor.pad(preprocessor.encode_batch(split["text"]))
        data = tf.data.Dataset.from_tensor_slices((ids, words(split["text"])))
        if training:
            data = data.shuffle(len(ids), seed=config.seed)
        return data.batch(config.batch_size, drop_remainder=drop_remainder)

    def build_model(self, config, tokenizer, info, parent=None):
        return build_regressor(tokenizer.vocab_size, **config.backbone_options())

    def compile(self, model, config, steps, layer_factors=None):
        optimizer = make_optimizer(config, steps, layer_factors)
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])

    def truth(self, run, rows):  # what evaluate scores the outputs against
        return words(rows["text"])

    def score(self, run, truth, outputs):  # evaluate's report
        errors = outputs[:, 0] - truth
        return {"num_examples": len(truth), "mae": float(np.abs(errors).mean())}

    def metrics(self, run, data):  # what goes into metrics.json
        return {"test": run.evaluate()}

    def reports(self, run, data):  # the files of report_files
        texts = data["test"]["text"]
        errors = run.predict(texts) - words(texts)
        worst = np.argsort(-np.abs(errors))[:5]
        return {"worst.txt": "".join(f"{errors[i]:+.2f}\t{texts[i]}\n" for i in worst)}


LENGTH = register(LengthTask())  # the registry line: CLI, load, export
# --- the outline in docs/architecture.md ends here ---

DOCS = Path(__file__).parents[1] / "docs" / "architecture.md"


def test_the_docs_outline_is_this_code():
    source = Path(__file__).read_text(encoding="utf-8")
    outline = re.search(r"starts here ---\n(.*?)# --- the outline", source, re.S)
    docs = re.search(r"```python\n# tests/test_adding_a_task.py\n(.*?)```",
                     DOCS.read_text(encoding="utf-8"), re.S)  # fmt: skip
    assert outline and docs, "the markers or the docs' block moved"
    assert docs.group(1).strip() == outline.group(1).strip()


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    rng = np.random.default_rng(3)
    lines = [" ".join(rng.choice(NEUTRAL, size=rng.integers(1, 9))) for _ in range(200)]
    path = tmp_path_factory.mktemp("data") / "texts.txt"
    path.write_text("\n".join(f"{line} {i}" for i, line in enumerate(lines)) + "\n")
    return str(path)


def test_a_task_written_as_the_docs_show_goes_the_whole_way(texts, tmp_path, capsys):
    from tests.shipping import assert_ships
    from textgru import cli

    folder = tmp_path / "run"
    flags = [
        "--dataset", texts, "--out", str(folder), "--tokenizer", "word",
        "--vocab-size", "50", "--embed-dim", "8", "--units", "8",
        "--batch-size", "16", "--epochs", "6", "--learning-rate", "0.02",
    ]  # fmt: skip
    assert cli.main(["train", "length", *flags]) == 0
    assert str(folder) in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*LENGTH.files, run_directory.MANIFEST]
    )
    assert not run_directory.workdir_for(folder).exists()
    assert json.loads((folder / "config.json").read_text())["task"] == "length"
    run = textgru.load(folder)
    assert isinstance(run, LengthRun)
    assert (folder / "worst.txt").read_text().count("\n") == 5

    # It evaluates, and learned something: closer than the mean length.
    assert cli.main(["evaluate", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lengths = words(load_dataset(texts)["test"]["text"])
    assert report["mae"] < np.abs(lengths - lengths.mean()).mean()
    assert report == run.metrics["test"]

    # It exports to ONNX from the command line, and its export answers as
    # the run does everywhere: in Python, `predict` (texts and files), over
    # HTTP, its gates, and where TensorFlow cannot be imported.
    assert cli.main(["export", str(folder), "--out", str(tmp_path / "cli")]) == 0
    probe = ["film", "the actor a plot", "a film the movie plot actor story"]
    exported = assert_ships(run, tmp_path, capsys, probe)
    np.testing.assert_allclose(exported.predict(probe), run.predict(probe), atol=1e-5)


def test_a_task_whose_reports_miss_a_declared_file_is_refused(texts, tmp_path):
    @dataclasses.dataclass
    class ForgetfulConfig(LengthConfig):
        pass

    class Forgetful(LengthTask):
        name = "length-forgetful"
        config_class = ForgetfulConfig
        report_files = ("worst.txt", "also.png")

    config = ForgetfulConfig(
        dataset=texts, out=str(tmp_path / "run"), tokenizer="word", vocab_size=50,
        embed_dim=4, units=4, batch_size=32, epochs=1,
    )  # fmt: skip
    with pytest.raises(textgru.errors.RunError, match="also.png"):
        register(Forgetful()).train(config, verbose=0)


def test_a_second_task_of_the_same_name_is_refused():
    class Again(LengthTask):
        pass

    with pytest.raises(textgru.errors.RunError, match="'length' is registered"):
        register(Again())
