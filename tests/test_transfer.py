"""Transfer from a language model at a tiny size: weights really move into the
classifier, frozen layers really stay put, stages, discriminative rates, the
slanted-triangular schedule, the leak check, `--from-lm` for both tasks, and
resuming a staged run."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.tiny import TINY_LM
from textgru import cli
from textgru.data import load_dataset
from textgru.data.leakage import MIN_WORDS, check_no_leak, find_leaks
from textgru.errors import DataLeakError, InvalidArgumentError, RunError
from textgru.models import build_classifier, build_language_model, classifier_from_lm
from textgru.tasks import LanguageModelConfig, TransferConfig, transfer
from textgru.tasks.classification import ClassifierRun, train_classifier
from textgru.tasks.language_modeling import (
    LanguageModelRun,
    load_language_model,
    train_language_model,
)
from textgru.training import stages as training_stages
from textgru.training.optimizers import DiscriminativeAdamW
from textgru.training.schedules import SlantedTriangular

TINY_CLASSIFIER = dict(
    batch_size=16, epochs=4, freeze_epochs=1, max_length=12, patience=9,
    learning_rate=3e-2, stage_lr_decay=1.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def lm_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lm"
    config = LanguageModelConfig(dataset=corpus, out=str(out), **TINY_LM)
    return train_language_model(config, verbose=0)


def _weights(model, names):
    """The weights of the model's parts by name (`head`, `gru_0`, ...)."""
    backbone = model.backbone
    parts = {
        "head": getattr(model, "head", None),
        "embedding": backbone.token_embedding,
    }
    parts.update((layer.name, layer) for layer in backbone.recurrent_layers)
    return {name: [w.copy() for w in parts[name].get_weights()] for name in names}


def _same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("gru_class", ["textgru", "keras"])
def test_classifier_starts_with_the_language_models_weights(gru_class):
    from textgru.layers import GRU

    kind = GRU if gru_class == "textgru" else keras.layers.GRU
    lm = build_language_model(
        40, embed_dim=6, units=5, num_layers=2, reset_after=True, gru_class=kind
    )
    classifier = classifier_from_lm(lm, num_classes=3)
    source, target = lm.backbone, classifier.backbone
    assert _same(source.token_embedding.get_weights(),
                 target.token_embedding.get_weights())  # fmt: skip
    for theirs, mine in zip(
        source.recurrent_layers, target.recurrent_layers, strict=True
    ):
        assert _same(theirs.get_weights(), mine.get_weights())
    assert type(target.recurrent_layers[1]) is kind
    assert target.recurrent_layers[1].reset_after
    assert classifier.output_shape == (None, 3)
    # The concatenated last, max and mean states feed the head.
    assert classifier.head.kernel.shape == (3 * 5, 3)
    # No variable is shared: training the classifier leaves the LM alone.
    before = lm.get_weights()
    classifier.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(1, 40, size=(8, 7))
    classifier.fit(x, np.arange(8) % 3, epochs=2, verbose=0)
    assert _same(before, lm.get_weights())
    assert not _same(before[:1], target.token_embedding.get_weights())


def test_classifier_from_lm_refuses_other_models():
    classifier = build_classifier(
        30, 2, embed_dim=4, units=3, bidirectional=False, pooling="last"
    )
    with pytest.raises(InvalidArgumentError, match="one-way GRUBackbone"):
        classifier_from_lm(classifier, 2)
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(InvalidArgumentError, match="one-way GRUBackbone"):
        classifier_from_lm(dense, 2)


def test_layer_groups_stages_and_factors():
    lm = build_language_model(30, embed_dim=4, units=3, num_layers=2)
    groups = classifier_from_lm(lm, 2).layer_groups()
    names = [[layer.name for layer in group] for group in groups]
    assert names == [["head"], ["gru_1"], ["gru_0"], ["embedding"]]
    stages = training_stages.unfreezing_stages(groups, freeze_epochs=2, epochs=3)
    assert [(s.name, s.groups, s.end) for s in stages] == [
        ("head", 1, 2),
        ("head+gru_1", 2, 4),
        ("head+gru_1+gru_0", 3, 6),
        ("all", 4, 9),
    ]
    assert [
        (s.groups, s.end) for s in training_stages.unfreezing_stages(groups, 0, 3)
    ] == [(4, 3)]
    factors = training_stages.layer_factors(groups, 2.0)
    assert factors == {
        "backbone/gru_1": 0.5,
        "backbone/gru_0": 0.25,
        "backbone/embedding": 0.125,
    }
    assert training_stages.layer_factors(groups, 1.0) == {}


def test_slanted_triangular_follows_the_paper():
    peak, steps, cut_fraction, ratio = 0.01, 200, 0.1, 32.0
    schedule = SlantedTriangular(peak, steps, cut_fraction, ratio)
    # ULMFiT, eq. 3, written out independently.
    cut = int(np.floor(steps * cut_fraction))
    expected = []
    for t in range(steps + 20):
        p = (
            t / cut
            if t < cut
            else max(1 - (t - cut) / (cut * (1 / cut_fraction - 1)), 0)
        )
        expected.append(peak * (1 + p * (ratio - 1)) / ratio)
    values = np.array([float(schedule(t)) for t in range(steps + 20)])
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert values.argmax() == cut and values[cut] == pytest.approx(peak)
    assert np.all(np.diff(values[: cut + 1]) > 0) and np.all(
        np.diff(values[cut:steps]) < 0
    )
    assert values[0] == values[steps] == values[-1] == pytest.approx(peak / ratio)
    again = SlantedTriangular.from_config(schedule.get_config())
    assert float(again(57)) == pytest.approx(values[57])
    with pytest.raises(InvalidArgumentError, match="cut_fraction"):
        SlantedTriangular(0.01, 10, cut_fraction=1.0)
    with pytest.raises(InvalidArgumentError, match="total_steps"):
        SlantedTriangular(0.01, 0)


def test_discriminative_rates_scale_each_layers_step(tmp_path):
    """Adam's first step is the learning rate times the sign of the gradient,
    so a layer with factor f moves exactly f times as far."""

    def first_step(factors):
        keras.utils.set_random_seed(3)
        model = build_classifier(30, 2, embed_dim=4, units=3, bidirectional=False)
        start = [v.numpy().copy() for v in model.trainable_variables]
        optimizer = DiscriminativeAdamW(1e-2, layer_factors=factors, weight_decay=0.0)
        model.compile(optimizer, "binary_crossentropy")
        x = np.random.default_rng(0).integers(1, 30, size=(6, 5))
        model.train_on_batch(x, np.array([0, 1, 0, 1, 1, 0]))
        return model, {
            v.path: v.numpy() - s
            for v, s in zip(model.trainable_variables, start, strict=True)
        }

    _, plain = first_step({})
    factors = {"backbone/gru_0": 0.25, "backbone/embedding": 0.1}
    model, scaled = first_step(factors)
    for path, step in plain.items():
        factor = (
            0.25
            if path.startswith("backbone/gru_0/")
            else 0.1
            if path.startswith("backbone/embedding/")
            else 1.0
        )
        np.testing.assert_allclose(scaled[path], factor * step, rtol=2e-3, atol=1e-9)
    assert np.abs(plain["head/kernel"]).max() > 5e-3
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, DiscriminativeAdamW)
    assert loaded.optimizer.layer_factors == factors
    with pytest.raises(InvalidArgumentError, match="factors > 0"):
        DiscriminativeAdamW(layer_factors={"head": 0})


def test_find_leaks():
    corpus = [
        "Act one.\nA long and winding tale of two rival houses, told well.",
        "ok.",
    ]
    heldout = [
        "a long and winding tale of two   RIVAL houses",  # in a row; case, spaces
        "ok.",  # too short to count
        "a tale never told in the corpus at all",
    ]
    assert find_leaks(corpus, heldout) == [heldout[0]]
    assert len(heldout[1].split()) < MIN_WORDS
    with pytest.raises(DataLeakError, match=r"contains 1 of the 3 held-out texts"):
        check_no_leak(corpus, heldout)
    check_no_leak(corpus, heldout[1:])


def test_find_leaks_equals_searching_the_whole_corpus():
    """Against the direct definition (each text searched in the whole joined
    corpus), on random texts of few words, many of them cut out of the
    corpus at any character, inside words too."""
    from textgru.data.leakage import normalize

    rng = np.random.default_rng(0)
    words = ["a", "to", "tale", "of", "two", "rival", "houses", "ok", "x"]
    corpus = [" ".join(rng.choice(words, size=rng.integers(1, 30))) for _ in range(200)]
    joined = "\n".join(normalize(row) for row in corpus)
    heldout = []
    for _ in range(600):
        if rng.random() < 0.5:
            row = corpus[rng.integers(len(corpus))]
            start = rng.integers(len(row))
            heldout.append(row[start : start + rng.integers(5, 60)].upper())
        else:
            heldout.append(" ".join(rng.choice(words, size=rng.integers(1, 12))))
    expected = [
        text
        for text in heldout
        if len(normalize(text).split()) >= MIN_WORDS and normalize(text) in joined
    ]
    assert 50 < len(expected) < len(heldout)  # both kinds are there
    assert find_leaks(corpus, heldout) == expected


def test_language_model_goes_on_from_an_lm_run(lm_run, corpus, reviews, tmp_path):
    starts = {}

    class Start(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            starts["weights"] = self.model.get_weights()

    config = LanguageModelConfig(
        dataset=reviews, from_lm=str(lm_run.path), out=str(tmp_path / "lm2"),
        units=99, epochs=1, samples=0, seq_len=12, batch_size=8,
    )  # fmt: skip
    run = train_language_model(config, callbacks=[Start()], verbose=0)
    assert _same(starts["weights"], lm_run.model.get_weights())
    assert not _same(run.model.get_weights(), lm_run.model.get_weights())
    # The tokenizer and network sizes are the parent's, and recorded so.
    assert run.config.units == 12 and run.config.tokenizer == "word"
    assert (run.path / "tokenizer.json").read_text() == (
        lm_run.path / "tokenizer.json"
    ).read_text()
    info = json.loads((run.path / "config.json").read_text())
    assert info["from_lm"] == str(lm_run.path.resolve())
    assert [c["dataset"] for c in info["pretrained_on"]] == [reviews, corpus]
    assert LanguageModelRun.load(run.path).config.from_lm == str(lm_run.path)


@pytest.fixture(scope="module")
def transfer_run(lm_run, reviews, tmp_path_factory):
    """A classifier from the LM, recording each stage's weights as it goes."""
    out = tmp_path_factory.mktemp("runs") / "transfer"
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = _weights(self.model, NAMES)

        def on_train_end(self, logs=None):
            snapshots.append((self.start, _weights(self.model, NAMES)))

    # Seed 1: at this tiny size, seed 0's head starts where 7 epochs stay at
    # chance (measured: seeds 1 and 2 reach 0.96 and 0.92 test accuracy).
    config = TransferConfig(
        dataset=reviews, from_lm=str(lm_run.path), out=str(out), seed=1,
        **TINY_CLASSIFIER,
    )  # fmt: skip
    run = train_classifier(config, callbacks=[Snapshot()], verbose=0)
    return run, snapshots


NAMES = ("head", "gru_1", "gru_0", "embedding")


def test_gradual_unfreezing_moves_only_the_unfrozen_layers(transfer_run, lm_run):
    run, snapshots = transfer_run
    assert len(snapshots) == 4  # head, +gru_1, +gru_0, all
    for stage, (start, end) in enumerate(snapshots, start=1):
        for depth, name in enumerate(NAMES):
            moved = not _same(start[name], end[name])
            assert moved == (depth < stage), (stage, name)
    # The first stage starts from the language model's weights.
    first = snapshots[0][0]
    names = ("gru_1", "gru_0", "embedding")
    assert all(
        _same(first[name], theirs)
        for name, theirs in _weights(lm_run.model, names).items()
    )


def test_transfer_run_directory(transfer_run, lm_run, reviews):
    run, _ = transfer_run
    history = run.history
    assert [int(float(r["stage"])) for r in history] == [1, 2, 3, 4, 4, 4, 4]
    assert [int(r["epoch"]) for r in history] == list(range(7))
    info = json.loads((run.path / "config.json").read_text())
    assert info["from_lm"]["path"] == str(lm_run.path.resolve())
    assert info["config"]["units"] == 12 and info["config"]["num_layers"] == 2
    assert info["config"]["pooling"] == "concat" and not info["config"]["bidirectional"]
    assert (run.path / "tokenizer.json").read_text() == (
        lm_run.path / "tokenizer.json"
    ).read_text()
    loaded = ClassifierRun.load(run.path)
    assert isinstance(loaded.config, TransferConfig)
    # A new process loads it too; the file holds the model alone, no optimizer.
    code = (
        "import sys; from textgru.tasks.classification import ClassifierRun; "
        "run = ClassifierRun.load(sys.argv[1]); "
        "print(getattr(run.model, 'optimizer', None))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(run.path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "None"
    texts = ["good great film", "bad dull plot"]
    np.testing.assert_allclose(
        loaded.predict_proba(texts), run.predict_proba(texts), atol=1e-6
    )
    assert run.metrics["test"]["accuracy"] > 0.6


def test_leak_check_refuses_an_lm_that_read_the_test_split(reviews, corpus, tmp_path):
    data = load_dataset(reviews)
    test_texts = list(data["test"]["text"])
    heldout = len(data["validation"]) + len(data["test"])
    leaky = tmp_path / "leaky.txt"
    leaky.write_text(
        open(corpus, encoding="utf-8").read() + "\n".join(test_texts[:3]) + "\n",
        encoding="utf-8",
    )
    lm = train_language_model(
        LanguageModelConfig(dataset=str(leaky), out=str(tmp_path / "lm"), **TINY_LM),
        verbose=0,
    )
    # Only what the LM trained on counts: the leaked lines in its train split.
    learned = set(load_dataset(str(leaky))["train"]["text"]) & set(test_texts)
    assert learned
    out = tmp_path / "clf"
    config = TransferConfig(dataset=reviews, from_lm=str(lm.path), out=str(out))
    message = (
        f"contains {len(learned)} of the {heldout} {reviews} validation and test texts"
    )
    with pytest.raises(DataLeakError, match=message):
        train_classifier(config, verbose=0)
    assert not out.exists() and not (tmp_path / "clf.partial").exists()
    # An LM that went on from it inherits the refusal.
    child = train_language_model(
        LanguageModelConfig(
            dataset=corpus,
            from_lm=str(lm.path),
            out=str(tmp_path / "child"),
            epochs=1,
            samples=0,
            seq_len=12,
            batch_size=8,
        ),  # fmt: skip
        verbose=0,
    )
    argv = ["train", "classify", "--dataset", reviews, "--from-lm", str(child.path)]
    assert cli.main([*argv, "--out", str(out)]) == 2


def test_resume_skips_finished_stages(lm_run, reviews, tmp_path):
    out = tmp_path / "resumed"
    config = TransferConfig(
        dataset=reviews, from_lm=str(lm_run.path), out=str(out), **TINY_CLASSIFIER
    )

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:  # the third stage's only epoch
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, callbacks=[Interrupt()], verbose=0)
    fits = []

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            fits.append(epoch)

    run = train_classifier(config.replace(resume=True), callbacks=[Count()], verbose=0)
    # Epoch 2 (stage 3) was backed up and logged before the interruption:
    # stages 1-3 are skipped and the last goes on from its start.
    assert fits == [3, 4, 5, 6]
    assert [int(r["epoch"]) for r in run.history] == list(range(7))
    assert [int(float(r["stage"])) for r in run.history] == [1, 2, 3, 4, 4, 4, 4]
    assert not (run.path / "backup").exists()


def test_cli_transfer_errors(lm_run, reviews, tmp_path, capsys):
    out = ["--out", str(tmp_path / "x")]
    cases = [
        (["--from-lm", str(lm_run.path), "--units", "5"], "--units: with --from-lm"),
        (["--freeze-epochs", "2"], "--freeze-epochs: only with --from-lm"),
        (["--from-lm", str(tmp_path / "none")], "--from-lm: No run directory"),
        (["--from-lm", str(lm_run.path), "--bidirectional"], "reads one way"),
    ]
    for flags, message in cases:
        assert cli.main(["train", "classify", "--dataset", reviews, *flags, *out]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(RunError, match="is a 'classify' run"):
        load_language_model(_classifier_run(reviews, tmp_path))


def _classifier_run(reviews, tmp_path):
    from textgru.tasks import ClassifierConfig

    config = ClassifierConfig(
        dataset=reviews, out=str(tmp_path / "c"), embed_dim=4, units=4, epochs=1,
        vocab_size=100,
    )  # fmt: skip
    return train_classifier(config, verbose=0).path


def test_transfer_config_checks():
    with pytest.raises(InvalidArgumentError, match="needs `from_lm`"):
        TransferConfig()
    with pytest.raises(InvalidArgumentError, match="lr_decay"):
        TransferConfig(from_lm="x", lr_decay=0.5)
    config = TransferConfig(from_lm="x")
    assert (config.pooling, config.schedule, config.bidirectional) == (
        "concat",
        "slanted",
        False,
    )


def test_transfer_benchmark_runs(lm_run, reviews, tmp_path, monkeypatch, capsys):
    """benchmarks/transfer.py end to end at a tiny size, with the tiny LM in
    place of the pretrained one (its figures are measured by hand)."""
    from .test_benchmarks import _load

    monkeypatch.setattr(transfer, "pretrained_language_model", lambda **_: lm_run)
    out = tmp_path / "ablation.json"
    _load("transfer").main(
        ["--datasets", reviews, "--workdir", str(tmp_path / "runs"), "--json",
         str(out), "--set", "epochs=1", "max_steps=2", "batch_size=2"]
    )  # fmt: skip
    rows = json.loads(out.read_text())["rows"]
    assert [r["step"].split(" ")[0] for r in rows] == ["TF-IDF", "from", "+", "+", "+"]
    assert all(0 <= r["test_accuracy"] <= 1 and r["seconds"] > 0 for r in rows)
    assert "| + LM fine-tuning on the task's texts |" in capsys.readouterr().out


def test_each_stage_peaks_lower_by_stage_lr_decay(lm_run, reviews, tmp_path):
    starts = []

    class FirstRate(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            starts.append(float(self.model.optimizer.learning_rate))

    config = TransferConfig(
        dataset=reviews, from_lm=str(lm_run.path), out=str(tmp_path / "r"),
        epochs=1, max_steps=1, learning_rate=0.04, stage_lr_decay=2.0,
    )  # fmt: skip
    train_classifier(config, callbacks=[FirstRate()], verbose=0)
    # A slanted triangle starts at its peak / 32; the peaks halve per stage.
    np.testing.assert_allclose(starts, [0.04 / 32 / 2**k for k in range(4)], rtol=1e-6)
