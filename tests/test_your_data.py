"""Your own data and tokenizer in the high-level API, and hints that fit
where the user is (Python arguments in Python, flags on the command line)."""

import json

import datasets
import numpy as np
import pytest
import tokenizers

from tests.tiny import NEGATIVE, POSITIVE, TINY, labelled_rows
from textgru import cli
from textgru.data import load_dataset, train_tokenizer
from textgru.errors import DatasetError, DatasetNotFoundError, InvalidArgumentError
from textgru.tasks import (
    ClassifierConfig,
    LanguageModelConfig,
    train_classifier,
    train_language_model,
)


@pytest.fixture(scope="module")
def reviews_in_memory():
    rows = labelled_rows(np.random.default_rng(3), 160, [NEGATIVE, POSITIVE])
    return datasets.Dataset.from_dict(
        {"review": [t for t, _ in rows], "stars": [["bad", "good"][y] for _, y in rows]}
    )


def test_load_dataset_takes_a_dataset_or_datasetdict(reviews_in_memory):
    data = load_dataset(reviews_in_memory, text_column="review", label_column="stars")
    assert {name: len(split) for name, split in data.items()} == {
        "train": 128, "validation": 16, "test": 16,
    }  # fmt: skip
    assert data["train"].features["label"].names == ["bad", "good"]
    given = datasets.DatasetDict(
        {"train": reviews_in_memory.select(range(140)),
         "test": reviews_in_memory.select(range(140, 160))}
    )  # fmt: skip
    data = load_dataset(given, text_column="review", label_column="stars")
    assert len(data["test"]) == 20  # its own test split, as given
    assert len(data["train"]) + len(data["validation"]) == 140


def test_a_config_trains_on_a_dataset_in_memory(reviews_in_memory, tmp_path):
    config = ClassifierConfig(
        dataset=reviews_in_memory, text_column="review", label_column="stars",
        out=str(tmp_path / "run"), **TINY,
    )  # fmt: skip
    run = train_classifier(config, verbose=0)
    recorded = json.loads((run.path / "config.json").read_text())["config"]
    assert recorded["dataset"].startswith("in-memory Dataset (160 rows; fingerprint")
    assert run.evaluate(reviews_in_memory)["num_examples"] == 160
    from textgru.tasks import ClassifierRun

    with pytest.raises(DatasetError, match="pass the data again"):
        ClassifierRun.load(run.path).evaluate()


def test_your_own_tokenizer_json(reviews_in_memory, tmp_path):
    # A BERT-style WordPiece tokenizer made outside textgru: [PAD] is id 0.
    backend = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    trainer = tokenizers.trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    )
    backend.train_from_iterator(reviews_in_memory["review"], trainer)
    path = tmp_path / "my_tokenizer.json"
    backend.save(str(path))
    config = ClassifierConfig(
        dataset=reviews_in_memory, text_column="review", label_column="stars",
        tokenizer=str(path), out=str(tmp_path / "run"), **TINY,
    )  # fmt: skip
    run = train_classifier(config, verbose=0)
    assert run.tokenizer.fingerprint == train_tokenizer_json_fingerprint(path)
    assert run.model.backbone.vocab_size == backend.get_vocab_size()
    # A language model needs [BOS] and [EOS]; this tokenizer has neither.
    lm = LanguageModelConfig(
        dataset=reviews_in_memory, text_column="review", tokenizer=str(path),
        out=str(tmp_path / "lm"), embed_dim=4, units=4, seq_len=8, batch_size=4,
        epochs=1, samples=0,
    )  # fmt: skip
    with pytest.raises(DatasetError, match=r"no \[BOS\] token"):
        train_language_model(lm, verbose=0)
    with pytest.raises(InvalidArgumentError, match="No tokenizer file at"):
        ClassifierConfig(tokenizer=str(tmp_path / "missing.json"))
    with pytest.raises(InvalidArgumentError, match="path of a tokenizer.json"):
        ClassifierConfig(tokenizer="wordz")  # neither a kind nor a path


def train_tokenizer_json_fingerprint(path):
    from textgru.data import Tokenizer

    return Tokenizer.load(path).fingerprint


def test_train_tokenizer_reads_the_column_you_name(reviews_in_memory):
    tok = train_tokenizer(reviews_in_memory, text_column="review")
    assert tok.encode("good film")
    with pytest.raises(InvalidArgumentError, match="columns: review, stars"):
        train_tokenizer(reviews_in_memory)


def test_hints_in_python_name_arguments(reviews_in_memory, tmp_path):
    with pytest.raises(DatasetError, match=r"columns: review, stars\); pass text_"):
        load_dataset(reviews_in_memory)
    with pytest.raises(DatasetError, match="pass label_column='stars'"):
        load_dataset(reviews_in_memory, text_column="review", label_column="label")
    with pytest.raises(DatasetNotFoundError, match="did you mean 'rotten_tomatoes'"):
        load_dataset("rotten_tomatos")


def test_hints_on_the_command_line_name_flags(tmp_path, capsys):
    path = tmp_path / "stars.csv"
    path.write_text("review,stars\na good film,pos\na dull plot,neg\n")
    base = ["train", "classify", "--dataset", str(path), "--out", str(tmp_path / "r")]
    assert cli.main([*base, "--text-column", "review"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith(
        "no label column 'label' (columns: review, stars); pass --label-column stars"
    )
    out = ["--out", str(tmp_path / "r2")]
    assert cli.main(["train", "classify", "--dataset", "shakespear", *out]) == 2
    assert "did you mean 'shakespeare'?" in capsys.readouterr().err
    assert cli.main(["train", "classify", "--learning-rate", "-1", *out]) == 2
    assert "Expected --learning-rate > 0" in capsys.readouterr().err
