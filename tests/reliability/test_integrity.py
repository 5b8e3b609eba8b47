"""Every artifact of a finished run is checked when the run is loaded: a
swapped tokenizer, an edited config, a garbage metrics file or a damaged
model is a one-line RunIntegrityError naming the file, never a silently
wrong answer; a model that gives NaN is refused, and JSON output never holds
NaN."""

import json
import shutil

import numpy as np
import pytest

from tests.tiny import NEGATIVE, POSITIVE, labelled_rows, write_csv
from textgru import cli
from textgru.data import train_tokenizer
from textgru.errors import RunError, RunIntegrityError
from textgru.models import build_classifier
from textgru.tasks.classification import ClassifierRun, predict_proba
from textgru.training import run_directory

from .conftest import FLAGS, one_line_error, reseal


@pytest.fixture
def copy(finished, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(finished, path)
    return path


@pytest.fixture(scope="module")
def other_run(finished, tmp_path_factory):
    """A run on other texts with a vocabulary of the same size and other ids,
    as when a tokenizer is copied from another run."""
    from textgru.data import Tokenizer

    size = Tokenizer.load(finished / "tokenizer.json").vocab_size
    folder = tmp_path_factory.mktemp("other")
    rows = labelled_rows(np.random.default_rng(8), 260, [POSITIVE, NEGATIVE])
    data = write_csv(folder / "other.csv", rows, ["a", "b"])
    out = folder / "run"
    flags = ["--dataset", data, "--out", str(out), *FLAGS, "--vocab-size", str(size)]
    assert cli.main(["train", "classify", *flags]) == 0
    return out


def test_a_tokenizer_from_another_run_is_refused(copy, other_run, capsys):
    from textgru.data import Tokenizer

    mine, theirs = (Tokenizer.load(p / "tokenizer.json") for p in (copy, other_run))
    assert mine.vocab_size == theirs.vocab_size  # the silently wrong case
    assert mine.fingerprint != theirs.fingerprint
    shutil.copy(other_run / "tokenizer.json", copy / "tokenizer.json")
    with pytest.raises(RunIntegrityError, match="tokenizer.json"):
        ClassifierRun.load(copy)
    for command in (["predict", str(copy), "good"], ["evaluate", str(copy)]):
        assert "tokenizer.json" in one_line_error(capsys, cli.main(command))


def test_a_tokenizer_of_another_size_is_refused_even_when_resealed(copy):
    bigger = train_tokenizer([f"word{i}" for i in range(400)], kind="word")
    bigger.save(copy / "tokenizer.json")
    reseal(copy, tokenizer={"fingerprint": bigger.fingerprint})
    with pytest.raises(RunIntegrityError, match="was made for"):
        ClassifierRun.load(copy)


def test_a_run_of_format_1_cannot_be_checked_and_is_refused(copy):
    """Format 1 had no manifest: saying a run is of it would switch every
    check off (issue 28)."""
    (copy / run_directory.MANIFEST).unlink()
    info = json.loads((copy / "config.json").read_text())
    info["run_format"] = 1
    (copy / "config.json").write_text(json.dumps(info))
    with pytest.raises(RunIntegrityError, match="none of its files can be checked"):
        ClassifierRun.load(copy)
    assert run_directory.is_run(copy)  # still a run that --overwrite may replace


@pytest.mark.parametrize(
    "name, edit",
    [
        ("config.json", lambda t: t.replace('"neg"', '"negative"')),
        ("metrics.json", lambda t: t.replace('"accuracy"', '"acc"', 1)),
        ("model.keras", None),
    ],
)
def test_an_edited_file_is_named(copy, name, edit):
    path = copy / name
    if edit is None:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.write_text(edit(path.read_text()))
    with pytest.raises(RunIntegrityError, match=f"{name} is not the file this run"):
        ClassifierRun.load(copy)


def test_garbage_and_short_labels_in_a_resealed_run(copy):
    info = json.loads((copy / "config.json").read_text())
    info["label_names"] = ["neg", "pos", "meh"]
    (copy / "config.json").write_text(json.dumps(info))
    reseal(copy)
    with pytest.raises(RunIntegrityError, match="does not fit the model"):
        ClassifierRun.load(copy)
    info["label_names"] = ["neg", "pos"]
    (copy / "config.json").write_text(json.dumps(info))
    (copy / "metrics.json").write_text("{garbage")
    reseal(copy)
    with pytest.raises(RunError, match="metrics.json is not valid JSON"):
        ClassifierRun.load(copy)


def test_a_missing_manifest_is_refused(copy):
    (copy / run_directory.MANIFEST).unlink()
    with pytest.raises(RunIntegrityError, match="no manifest.json"):
        ClassifierRun.load(copy)


def test_a_model_that_gives_nan_is_refused():
    tokenizer = train_tokenizer(["a good film", "a bad film"], kind="word")
    model = build_classifier(tokenizer.vocab_size, 2, embed_dim=4, units=3)
    head = model.get_layer("head")
    head.set_weights([np.full_like(w, np.nan) for w in head.get_weights()])
    with pytest.raises(RunIntegrityError, match="NaN"):
        predict_proba(model, tokenizer, ["a good film"])
