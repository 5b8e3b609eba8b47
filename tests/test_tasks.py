"""The task concept: each task declared once, found by its word or config;
config sections whose field facts replace hand-kept lists; overrides."""

import dataclasses

import pytest

from textgru import cli
from textgru.errors import InvalidArgumentError, RunError
from textgru.tasks import (
    CLASSIFY,
    LANGUAGE_MODEL,
    MULTI_LABEL,
    REGRESS,
    TASKS,
    TRANSFER,
    ClassifierConfig,
    LanguageModelConfig,
    MultiLabelConfig,
    RegressionConfig,
    Task,
    TransferConfig,
    transfer,
)
from textgru.training.config import as_flags, parse_overrides


def test_each_task_is_found_by_its_word_and_its_config():
    # The built-in tasks, registered first (a test's own task may follow:
    # tests/test_adding_a_task.py registers one when it is imported).
    assert dict(list(TASKS.items())[:4]) == {
        "classify": CLASSIFY,
        "lm": LANGUAGE_MODEL,
        "regress": REGRESS,
        "multilabel": MULTI_LABEL,
    }
    assert Task.for_config(ClassifierConfig()) is CLASSIFY
    assert Task.for_config(MultiLabelConfig(dataset="x.csv")) is MULTI_LABEL
    assert Task.for_config(RegressionConfig()) is REGRESS
    assert Task.for_config(LanguageModelConfig()) is LANGUAGE_MODEL
    assert Task.for_config(TransferConfig(from_lm="x")) is TRANSFER
    recorded = TransferConfig(from_lm="x").recorded()
    assert type(CLASSIFY.config_from_dict(recorded)) is TransferConfig
    assert type(CLASSIFY.config_from_dict(ClassifierConfig().recorded())) is (
        ClassifierConfig
    )
    assert "confusion_matrix.png" in CLASSIFY.files
    assert "samples.txt" in LANGUAGE_MODEL.files
    assert "predictions.png" in REGRESS.files
    assert "label_scores.png" in MULTI_LABEL.files


def test_field_facts_say_what_a_model_from_another_takes():
    # What transfer took by a hand-kept list before the sections.
    assert set(ClassifierConfig.architecture()) == {
        "tokenizer", "vocab_size", "lowercase", "embed_dim", "units",
        "num_layers", "reset_after", "gru_layer", "cell", "cell_args",
    }  # fmt: skip
    assert set(LanguageModelConfig.architecture()) == {
        *ClassifierConfig.architecture(),
        "tie_embeddings",
    }
    lm = LanguageModelConfig(units=64, embed_dim=16, vocab_size=300)
    mine = TransferConfig(from_lm="x").inherit(lm)
    assert (mine.units, mine.embed_dim, mine.vocab_size) == (64, 16, 300)
    assert mine.dropout == TransferConfig.dropout  # not an architecture field
    recorded = ClassifierConfig(resume=True, out="o").recorded()
    assert recorded["resume"] is False and recorded["process_id"] is None
    changed = ClassifierConfig(epochs=9, units=7, out="o").changed_since(recorded)
    assert changed == ["units (128 -> 7)"]  # epochs may change on --resume


def test_sections_live_next_to_their_code():
    names = {f.name for f in dataclasses.fields(ClassifierConfig)}
    for section in ClassifierConfig.__mro__[1:]:
        if dataclasses.is_dataclass(section):
            assert {f.name for f in dataclasses.fields(section)} <= names
    assert [kind.__module__ for kind in ClassifierConfig.__mro__[1:10]] == [
        "textgru.tasks.reading",  # what classification and regression share
        "textgru.tasks.word_vectors",  # what the whole-text tasks share
        "textgru.tasks.distillation",  # a teacher, for the classifier only
        "textgru.training.config",  # TrainConfig, joining the sections below
        "textgru.training.distribute",
        "textgru.training.config",
        "textgru.training.config",
        "textgru.models.config",
        "textgru.data.config",
    ]
    assert RegressionConfig.__mro__[1:3] == ClassifierConfig.__mro__[1:3]


def test_overrides_parse_and_become_the_same_flags():
    overrides = parse_overrides(
        ["epochs=1", "dataset=sms_spam", "bucket_by_length=false", "max_steps=null"]
    )
    assert overrides == {
        "epochs": 1, "dataset": "sms_spam", "bucket_by_length": False,
        "max_steps": None,
    }  # fmt: skip
    parser = cli.build_parser()
    args = parser.parse_args(["train", "classify", *as_flags(overrides)])
    config = cli.config_from_args(ClassifierConfig, args)
    assert (config.epochs, config.dataset, config.bucket_by_length) == (
        1, "sms_spam", False,
    )  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="FIELD=VALUE"):
        parse_overrides(["epochs"])


def test_loading_never_trains_the_pretrained_model(monkeypatch, tmp_path):
    def train(*args, **kwargs):
        raise AssertionError("loading trained a model")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(transfer, "train_language_model", train)
    with pytest.raises(RunError, match="resolve_from_lm"):
        TRANSFER.parent(TransferConfig(from_lm="pretrained"))
