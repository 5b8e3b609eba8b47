# ruff: noqa: I001 (the outline's imports stay as the docs show them)
"""The task contract of docs/architecture.md ("Adding a task") holds: a third
task written exactly as the outline shows trains, finishes its run folder,
reloads through `textgru.load` and predicts. The outline in the docs is the
code between the two marker lines below (checked here, word for word)."""

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

import keras
import tensorflow as tf

from textgru._config import field
from textgru.data import Preprocessor, load_dataset
from textgru.models import GRUBackbone
from textgru.tasks import Task, TaskRun
from textgru.training import TrainConfig
from textgru.training.optimizers import make_optimizer


@dataclasses.dataclass
class LengthConfig(TrainConfig):
    out: str = field("runs/length", "run directory to write")


@dataclasses.dataclass
class LengthRun(TaskRun):
    config: LengthConfig

    def predict(self, texts):  # what a user does with the run
        ids = self.preprocessor.pad(self.preprocessor.encode_batch(texts))
        return self.model.predict(ids, verbose=0)[:, 0]


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
        words = np.array([len(text.split()) for text in split["text"]], "float32")
        data = tf.data.Dataset.from_tensor_slices((ids, words))
        if training:
            data = data.shuffle(len(words), seed=config.seed)
        return data.batch(config.batch_size, drop_remainder=drop_remainder)

    def build_model(self, config, tokenizer, info, parent=None):
        ids = keras.Input((None,), dtype="int32")
        backbone = GRUBackbone(tokenizer.vocab_size, **config.backbone_options())
        _, last_state = backbone(ids)
        return keras.Model(ids, keras.layers.Dense(1)(last_state))

    def compile(self, model, config, steps, layer_factors=None):
        optimizer = make_optimizer(config, steps, layer_factors)
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])

    def metrics(self, run, data):  # what goes into metrics.json
        texts = data["test"]["text"]
        errors = run.predict(texts) - [len(text.split()) for text in texts]
        return {"test": {"mae": float(np.abs(errors).mean())}}

    def reports(self, run, data):  # the files of report_files
        texts = data["test"]["text"]
        errors = run.predict(texts) - [len(text.split()) for text in texts]
        worst = np.argsort(-np.abs(errors))[:5]
        return {"worst.txt": "".join(f"{errors[i]:+.2f}\t{texts[i]}\n" for i in worst)}


LENGTH = LengthTask()  # registers the run class for load_run
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


def test_a_task_written_as_the_docs_show_trains_reloads_and_predicts(texts, tmp_path):
    config = LengthConfig(
        dataset=texts, out=str(tmp_path / "run"), tokenizer="word", vocab_size=50,
        embed_dim=8, units=8, batch_size=16, epochs=6, learning_rate=2e-2,
    )  # fmt: skip
    run = LENGTH.train(config, verbose=0)
    folder = Path(config.out)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*LENGTH.files, run_directory.MANIFEST]
    )
    assert "gates.png" not in LENGTH.files  # this task draws no gates
    assert not run_directory.workdir_for(folder).exists()
    assert json.loads((folder / "config.json").read_text())["task"] == "length"
    reloaded = textgru.load(folder)
    assert isinstance(reloaded, LengthRun)
    probe = ["film", "the actor a plot", "a film the movie plot actor story"]
    np.testing.assert_allclose(reloaded.predict(probe), run.predict(probe), atol=1e-5)
    # It learned something: closer than always guessing the mean length.
    lengths = np.array(
        [len(text.split()) for text in load_dataset(texts)["test"]["text"]]
    )
    assert run.metrics["test"]["mae"] < np.abs(lengths - lengths.mean()).mean()
    assert (folder / "worst.txt").read_text().count("\n") == 5


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
        Forgetful().train(config, verbose=0)
