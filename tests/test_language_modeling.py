"""Language modelling at a tiny size: the model, generation (seeded, top-k,
top-p, incremental state equal to the full prefix), training, run reload."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import textgru
from textgru.errors import InvalidArgumentError, RunError
from textgru.interpret.gates import gate_activations
from textgru.layers import LayerNormGRUCell, MGUCell
from textgru.models import build_language_model, generate
from textgru.models.generation import compiled_step, sample_next, step_model
from textgru.tasks import LANGUAGE_MODEL, LanguageModelConfig
from textgru.tasks.language_modeling import LanguageModelRun, train_language_model
from textgru.training import run_directory

from .layers.test_custom_cells import SwappedGRUCell

TINY = dict(
    tokenizer="char", embed_dim=8, units=16, batch_size=4, seq_len=16, epochs=2,
    learning_rate=1e-2, warmup_steps=0, dropout=0.0, samples=1, sample_length=20,
    patience=5,
)  # fmt: skip


@pytest.fixture(scope="module")
def verses(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = ["to be", "or not", "that is", "the question", "whether", "tis nobler"]
    lines = [" ".join(rng.choice(words, size=5)) + "." for _ in range(240)]
    path = tmp_path_factory.mktemp("text") / "verses.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def chars(verses):
    return textgru.data.train_tokenizer(
        textgru.data.load_dataset(verses)["train"], kind="char"
    )


@pytest.mark.layers  # also under JAX
@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("reset_after", [False, True])
def test_one_step_at_a_time_equals_the_whole_prefix(chars, tie, reset_after):
    model = build_language_model(
        chars.vocab_size, embed_dim=8, units=12, num_layers=2,
        tie_embeddings=tie, reset_after=reset_after,
    )  # fmt: skip
    _assert_steps_equal_the_whole_prefix(model, chars)


@pytest.mark.layers
@pytest.mark.parametrize("cell", [SwappedGRUCell, MGUCell, LayerNormGRUCell])
def test_generation_with_your_own_cell_equals_the_whole_prefix(chars, cell):
    """Generation steps the cell's own equations, as the full model runs them
    (before, a subclass ran as the stock GRU in the full model only)."""
    model = build_language_model(
        chars.vocab_size, embed_dim=8, units=12, num_layers=2, cell=cell
    )
    assert type(model.backbone.recurrent_layers[1].cell) is cell
    _assert_steps_equal_the_whole_prefix(model, chars)


def _assert_steps_equal_the_whole_prefix(model, chars):
    prefix = np.array([chars.encode("to be or not that")], dtype="int32")
    full = model.predict(prefix, verbose=0)[0]
    # Both ways to run the step: Keras's predict_on_batch, and the fast path
    # that generate uses (a concrete function on TensorFlow).
    for call in (
        _predict_on_batch(step_model(model)),
        compiled_step(step_model(model)),
    ):
        states = [np.zeros((1, 12), "float32")] * 2
        for position, token in enumerate(prefix[0]):
            logits, *states = call(np.array([token], "int32"), states)
            np.testing.assert_allclose(
                np.asarray(logits)[0], full[position], rtol=1e-5, atol=1e-5
            )


def _predict_on_batch(step):
    return lambda tokens, states: step.predict_on_batch([tokens, *states])


def test_model_shapes_tying_and_saving(tmp_path):
    untied = build_language_model(40, embed_dim=8, units=16)
    tied = build_language_model(40, embed_dim=8, units=16, tie_embeddings=True)
    assert untied.output_shape == tied.output_shape == (None, None, 40)
    assert tied.count_params() < untied.count_params()
    tied.save(tmp_path / "lm.keras")
    again = keras.saving.load_model(tmp_path / "lm.keras")
    ids = np.array([[3, 4, 5, 6]])
    np.testing.assert_array_equal(
        again.predict(ids, verbose=0), tied.predict(ids, verbose=0)
    )
    with pytest.raises(InvalidArgumentError, match="fixed batch size"):
        build_language_model(40, stateful=True)


def test_stateful_model_carries_its_state_between_batches():
    model = build_language_model(20, embed_dim=4, units=8, stateful=True, batch_size=2)
    ids = np.array([[1, 2, 3], [4, 5, 6]])
    first = model.predict_on_batch(ids)
    second = model.predict_on_batch(ids)
    assert not np.allclose(first, second)  # the state went on
    model.reset_states()
    np.testing.assert_allclose(model.predict_on_batch(ids), first, rtol=1e-6)


def test_sampling_respects_top_k_and_top_p():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4000))
    assert set(sample_next(logits, rng, top_k=2)) == {0, 1}
    assert set(sample_next(logits, rng, top_p=0.75)) == {0, 1}
    assert set(sample_next(logits, rng, top_p=0.5)) == {0}
    assert set(sample_next(logits, rng, temperature=0)) == {0}
    draws = sample_next(logits, rng)
    assert set(draws) == {0, 1, 2, 3}
    np.testing.assert_allclose(np.bincount(draws) / len(draws), [0.5, 0.3, 0.15, 0.05],
                               atol=0.03)  # fmt: skip


@pytest.mark.layers
def test_generate_is_seeded_and_stops_at_eos(chars):
    model = build_language_model(chars.vocab_size, embed_dim=8, units=12)
    a = generate(model, chars, "to be", max_new_tokens=30, seed=1)
    assert a == generate(model, chars, "to be", max_new_tokens=30, seed=1)
    several = generate(model, chars, "to", max_new_tokens=30, seed=2, num_samples=3)
    assert len(several) == 3 and len(set(several)) > 1
    greedy = generate(model, chars, "to", max_new_tokens=10, temperature=0, seed=1)
    assert greedy == generate(
        model, chars, "to", max_new_tokens=10, temperature=0, seed=9
    )
    # A model that always says [EOS] generates nothing.
    head = model.get_layer("logits")
    bias = np.zeros(chars.vocab_size, "float32")
    bias[chars.eos_id] = 100.0
    head.set_weights([np.zeros_like(head.get_weights()[0]), bias])
    assert generate(model, chars, "to", max_new_tokens=10, seed=0) == ""


def test_generate_arguments(chars):
    model = build_language_model(chars.vocab_size, embed_dim=8, units=12)
    with pytest.raises(InvalidArgumentError, match="temperature"):
        generate(model, chars, "to", temperature=-1)
    with pytest.raises(InvalidArgumentError, match="top_p"):
        generate(model, chars, "to", top_p=1.5)
    with pytest.raises(InvalidArgumentError, match="top_p"):
        generate(model, chars, "to", top_p=0)
    without_bos = textgru.data.Tokenizer.from_json(
        chars.to_json().replace("[BOS]", "[XBOS]")
    )
    with pytest.raises(InvalidArgumentError, match="no \\[BOS\\] token"):
        generate(model, without_bos, "")


@pytest.fixture(scope="module")
def lm_run(verses, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lm"
    config = LanguageModelConfig(dataset=verses, out=str(out), **TINY)
    return train_language_model(config, verbose=0)


def test_training_lowers_the_loss(lm_run):
    history = run_directory.read_history(lm_run.path / "history.csv")
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    uniform = np.log(lm_run.tokenizer.vocab_size)
    for split in ("validation", "test"):
        metrics = lm_run.metrics[split]
        assert metrics["loss_nats_per_token"] < uniform - 0.5
        assert metrics["perplexity"] == pytest.approx(
            np.exp(metrics["loss_nats_per_token"])
        )
        assert metrics["bits_per_character"] == pytest.approx(
            metrics["loss_nats_per_token"] * metrics["tokens"] / metrics["characters"]
            / np.log(2)
        )  # fmt: skip
    assert float(history[-1]["seconds"]) > 0


def test_run_directory(lm_run):
    assert sorted(os.listdir(lm_run.path)) == sorted(
        [*LANGUAGE_MODEL.files, run_directory.MANIFEST]
    )
    samples = (lm_run.path / "samples.txt").read_text()
    assert "temperature 0.7" in samples and "temperature 1.0" in samples
    info = json.loads((lm_run.path / "config.json").read_text())
    assert info["task"] == "lm" and info["config"]["stateful"] is True
    assert (lm_run.path / "gates.png").read_bytes()[:4] == b"\x89PNG"
    assert [row["epoch"] for row in lm_run.history] == ["0", "1"]


def test_gates_of_a_language_model_run(lm_run):
    """A language-model run reads texts after [BOS], as it was trained."""
    acts = gate_activations(lm_run.path, "to be or")
    assert acts.tokens[0] == "[BOS]" and "".join(acts.tokens[1:]) == "to be or"
    assert acts.hidden.shape == (9, lm_run.config.units)


def test_reloaded_run_generates_the_same_text(lm_run):
    expected = lm_run.generate("to be", max_new_tokens=40, temperature=0.8, seed=3)
    code = (
        "import sys\n"
        "from textgru.tasks.language_modeling import LanguageModelRun\n"
        "run = LanguageModelRun.load(sys.argv[1])\n"
        "text = run.generate('to be', max_new_tokens=40, temperature=0.8, seed=3)\n"
        "print(text, end='')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(lm_run.path)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert result.stdout == expected
    assert LanguageModelRun.load(lm_run.path).metrics == lm_run.metrics


def test_a_classification_run_is_not_a_language_model(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"run_format": run_directory.RUN_FORMAT, "task": "classify"})
    )
    with pytest.raises(RunError, match="is a 'classify' run; this needs a 'lm' run"):
        LanguageModelRun.load(tmp_path)


def test_non_stateful_training_with_subwords(verses, tmp_path):
    config = LanguageModelConfig(
        dataset=verses, out=str(tmp_path / "bpe"),
        **{**TINY, "tokenizer": "bpe", "vocab_size": 300, "stateful": False,
           "tie_embeddings": True, "embed_dim": 16, "max_steps": 10},
    )  # fmt: skip
    run = train_language_model(config, verbose=0)
    assert run.metrics["optimizer_steps"] == 10
    assert np.isfinite(run.metrics["test"]["loss_nats_per_token"])
    assert isinstance(run.generate("to", max_new_tokens=5, seed=0), str)
