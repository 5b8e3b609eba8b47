"""Numbers are checked: NaN and infinite floats, out-of-range counts and
seeds, a --monitor the task does not log, abbreviated flags; training whose
loss becomes NaN stops with an error and leaves no finished run."""

import math

import pytest

from textgru import cli
from textgru.data import train_tokenizer
from textgru.errors import InvalidArgumentError, TrainingDivergedError
from textgru.models import build_language_model, generate
from textgru.tasks import ClassifierConfig
from textgru.tasks.classification import train_classifier
from textgru.training import run_directory
from textgru.training.run_lock import lock_path

from .conftest import one_line_error


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--learning-rate", "nan"], "--learning-rate to be a finite number"),
        (["--learning-rate", "inf"], "--learning-rate to be a finite number"),
        (["--weight-decay", "nan"], "--weight-decay to be a finite number"),
        (["--weight-decay", "-1"], "--weight-decay >= 0"),
        (["--dropout", "nan"], "--dropout to be a finite number"),
        (["--clipnorm", "-1"], "--clipnorm > 0"),
        (["--patience", "-1"], "--patience >= 0"),
        (["--warmup-steps", "-5"], "--warmup-steps >= 0"),
        (["--max-steps", "0"], "--max-steps 0"),
        (["--seed", "-1"], "--seed to be an integer from 0 to 4294967295"),
        (["--seed", "8589934592"], "--seed to be an integer from 0 to 4294967295"),
        (["--split-seed", "-2"], "--split-seed to be an integer from 0"),
        (["--monitor", "val_acc"], "--monitor to be one of"),
        (["--lr", "0.1"], "unrecognized arguments: --lr"),
    ],
)
def test_bad_numbers_are_one_line_errors(tmp_path, capsys, flags, message):
    out = tmp_path / "r"
    try:
        code = cli.main(["train", "classify", "--out", str(out), *flags])
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    assert message in one_line_error(capsys, code)
    assert not out.exists() and not run_directory.workdir_for(out).exists()


def test_language_model_monitors_only_its_metrics():
    from textgru.tasks import LanguageModelConfig

    with pytest.raises(InvalidArgumentError, match="val_loss, loss"):
        LanguageModelConfig(monitor="val_accuracy")
    assert ClassifierConfig(monitor="val_accuracy").monitor == "val_accuracy"


@pytest.mark.parametrize("temperature", [math.nan, math.inf, -1.0])
def test_generate_refuses_a_temperature_that_is_not_a_number(temperature):
    tokenizer = train_tokenizer(["abcabc"], kind="char")
    model = build_language_model(tokenizer.vocab_size, embed_dim=4, units=4)
    with pytest.raises(InvalidArgumentError, match="temperature"):
        generate(model, tokenizer, "ab", max_new_tokens=3, temperature=temperature)


def test_training_that_diverges_stops_with_an_error(reviews, tmp_path, monkeypatch):
    import keras

    from textgru.tasks import CLASSIFY

    def diverging(model, config, steps, layer_factors=None):
        # A loss that turns NaN, as a diverging run's does.
        model.compile(
            optimizer="sgd", loss=lambda y, p: keras.ops.mean(p) * float("nan")
        )
        return model

    monkeypatch.setattr(CLASSIFY, "compile", diverging)
    out = tmp_path / "r"
    config = ClassifierConfig(
        dataset=reviews, out=str(out), embed_dim=8, units=8, vocab_size=200,
        batch_size=16, epochs=3, max_length=12,
    )  # fmt: skip
    with pytest.raises(TrainingDivergedError, match="loss became nan") as info:
        train_classifier(config, verbose=0)
    assert "\n" not in str(info.value) and "--learning-rate" in str(info.value)
    assert "epoch 1, batch 1" in str(info.value)
    assert not out.exists() and not run_directory.workdir_for(out).exists()
    assert not lock_path(out).exists()
