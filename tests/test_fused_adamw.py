"""`FusedAdamW` against `keras.optimizers.AdamW`: the same numbers (to float
rounding) for dense and sparse gradients, rows repeated in a batch, each kind
of clipping, weight decay with exclusions and learning-rate schedules; that the
fused update is what ran; and that it saves and loads. Under a
`tf.distribute` strategy it is Keras's AdamW (test_distribute.py)."""

import keras
import numpy as np
import pytest

from textgru.training import adamw_tensorflow
from textgru.training.optimizers import DiscriminativeAdamW, FusedAdamW

ROWS = 300


def _model(optimizer):
    """Embedding (sparse gradient) -> Dense (dense gradients)."""
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(ROWS, 8, name="embedding")(tokens)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dense(4, activation="tanh", name="hidden")(x)
    model = keras.Model(tokens, keras.layers.Dense(1, name="head")(x))
    model.compile(optimizer, "mse")
    return model


def _batches(steps=6):
    rng = np.random.default_rng(0)
    for _ in range(steps):
        tokens = rng.integers(0, ROWS, (16, 10))
        tokens[:, :3] = 7  # a row repeated within the batch
        yield tokens, 5 * rng.normal(size=(16, 1))


def _train(optimizer):
    model = _model(optimizer)
    for tokens, targets in _batches():
        model.train_on_batch(tokens, targets)
    return model


def _schedule():
    return keras.optimizers.schedules.CosineDecay(3e-2, decay_steps=6, alpha=0.1)


@pytest.mark.parametrize(
    "options",
    [
        dict(learning_rate=3e-2, weight_decay=0.0),
        dict(learning_rate=3e-2, weight_decay=0.05, clipnorm=0.5),
        dict(learning_rate=_schedule, weight_decay=0.05, global_clipnorm=0.3),
        dict(learning_rate=3e-2, weight_decay=0.05, clipvalue=0.01, epsilon=1e-3),
        dict(learning_rate=_schedule, beta_1=0.5, beta_2=0.9, clipnorm=1e-3),
    ],
    ids=["plain", "clipnorm", "global-clipnorm-schedule", "clipvalue", "betas"],
)
def test_same_numbers_as_keras_adamw(options, monkeypatch):
    def make(cls):
        given = {k: v() if callable(v) else v for k, v in options.items()}
        return cls(**given)

    calls = []
    update = adamw_tensorflow.FusedUpdate.__call__
    monkeypatch.setattr(
        adamw_tensorflow.FusedUpdate,
        "__call__",
        lambda self, variables, *a, **k: (
            calls.append(len(variables)) or update(self, variables, *a, **k)
        ),
    )
    ours, theirs = _train(make(FusedAdamW)), _train(make(keras.optimizers.AdamW))
    # The fused update, not Keras's own, was traced for all 5 variables at
    # once (each time Keras traced its training step).
    assert calls and set(calls) == {5}
    assert int(ours.optimizer.iterations) == 6
    for mine, reference in zip(
        ours.optimizer.variables, theirs.optimizer.variables, strict=True
    ):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-7)
    start = _model("sgd").get_weights()
    for mine, reference, first in zip(ours.weights, theirs.weights, start, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-7)
        assert not np.allclose(mine, first)  # every weight was trained


def test_exclusions_from_weight_decay_and_layer_factors_are_kept():
    def make(cls, **extra):
        optimizer = cls(learning_rate=3e-2, weight_decay=0.5, clipnorm=1.0, **extra)
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        return optimizer

    ours = _train(make(FusedAdamW))
    theirs = _train(make(keras.optimizers.AdamW))
    for mine, reference in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-7)
    # Layer factors scale the step, not the decay: the same as Keras's AdamW
    # with the learning rate scaled, when every layer has the same factor.
    factors = {"embedding": 0.5, "hidden": 0.5, "head": 0.5}
    scaled = _train(make(DiscriminativeAdamW, layer_factors=factors))
    decay = keras.optimizers.AdamW(1.5e-2, weight_decay=1.0, clipnorm=1.0)
    decay.exclude_from_weight_decay(var_names=["bias"])
    reference = _train(decay)
    for mine, theirs in zip(scaled.weights, reference.weights, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)


def test_a_gradient_of_zeros_or_nan_is_handled_as_keras_does():
    for value in (0.0, np.nan):
        results = []
        for cls in (FusedAdamW, keras.optimizers.AdamW):
            variable = keras.Variable(np.ones((3, 2), "float32"))
            optimizer = cls(1e-2, weight_decay=0.1, clipnorm=1.0)
            optimizer.apply([np.full((3, 2), value, "float32")], [variable])
            results.append(np.asarray(variable))
        np.testing.assert_array_equal(results[0], results[1])


def test_saves_and_loads_with_the_model(tmp_path):
    model = _train(FusedAdamW(learning_rate=_schedule(), weight_decay=0.01))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is FusedAdamW
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for mine, saved in zip(
        model.optimizer.variables, loaded.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(mine, saved)
    # Training goes on from the saved moments as it would have in memory.
    tokens, targets = next(_batches(1))
    model.train_on_batch(tokens, targets)
    loaded.train_on_batch(tokens, targets)
    for mine, saved in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_allclose(mine, saved, rtol=1e-6, atol=1e-8)


def test_under_a_distribution_strategy_it_is_keras_adamw(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(
        adamw_tensorflow.FusedUpdate, "__call__", lambda *a, **k: pytest.fail("fused")
    )
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    weights = []
    for cls in (FusedAdamW, keras.optimizers.AdamW):
        with strategy.scope():
            model = _train(cls(learning_rate=3e-2, weight_decay=0.05, clipnorm=0.5))
        weights.append(model.get_weights())
    for mine, reference in zip(*weights, strict=True):
        np.testing.assert_array_equal(mine, reference)


def test_batches_of_any_shape_share_one_compiled_update():
    """An embedding's sparse gradient has one slice per token, so its size
    changes with each batch's shape; the fused update is traced (and compiled
    by XLA) once all the same."""
    model = _model(FusedAdamW(learning_rate=3e-2, weight_decay=0.05, clipnorm=0.5))
    rng = np.random.default_rng(1)
    for batch, length in [(16, 5), (7, 9), (16, 13), (3, 2)]:
        tokens = rng.integers(0, ROWS, (batch, length))
        model.train_on_batch(tokens, rng.normal(size=(batch, 1)))
    compiled = model.optimizer._fused_update._update
    assert compiled.experimental_get_tracing_count() == 1
