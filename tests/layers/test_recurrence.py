"""The fast path of textgru.GRU (textgru.layers.recurrence): when it is taken,
and that it computes what the plain loop computes, values and gradients,
for any batch size and in real training, on TensorFlow and on JAX."""

import keras
import numpy as np
import pytest

import textgru
from tests.layers.harness import gradients
from textgru.layers import recurrence

pytestmark = [
    pytest.mark.layers,
    pytest.mark.skipif(
        keras.backend.backend() not in recurrence.BACKENDS,
        reason="the fast path runs on TensorFlow and JAX; others run the plain loop",
    ),
]
ON_TF = keras.backend.backend() == "tensorflow"
TF_ONLY = pytest.mark.skipif(
    not ON_TF,
    reason="run-time lengths are TensorFlow's (JAX compiles every shape)",
)


@pytest.fixture(autouse=True)
def _fast_on_jax_too(fast_everywhere):
    """JAX's fast loop runs with fast_path=True only; here also with "auto"."""


def _plain(monkeypatch):
    monkeypatch.setattr(recurrence, "why_not", lambda *a, **k: "the test asks")


@pytest.mark.parametrize(
    "kwargs, policy, taken",
    [
        ({}, "float32", True),
        ({"reset_after": True, "go_backwards": True}, "float32", True),
        ({"activation": "relu"}, "float32", False),
        ({"recurrent_activation": "hard_sigmoid"}, "float32", False),
        ({"unroll": True}, "float32", False),
        ({}, "mixed_bfloat16", False),
    ],
)
def test_when_the_fast_path_is_taken(kwargs, policy, taken, fast_calls, rng):
    keras.config.set_dtype_policy(policy)
    layer = textgru.GRU(4, **kwargs)
    layer(rng.normal(size=(3, 5, 2)).astype("float32"))
    assert bool(fast_calls) == taken


def test_recurrent_dropout_takes_the_plain_loop_only_while_training(fast_calls, rng):
    layer = textgru.GRU(4, recurrent_dropout=0.5)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    layer(x, training=True)
    assert not fast_calls
    layer(x, training=False)
    assert fast_calls


@TF_ONLY
@pytest.mark.parametrize("reset_after", [False, True])
def test_a_length_known_only_at_run_time_is_padded_to_few_lengths(
    reset_after, fast_calls, rng, monkeypatch
):
    """Traced with a run-time length, the fast path pads each batch to one of
    a few lengths: the outputs, last state and gradients are the plain
    loop's at every length, masked or not."""
    import tensorflow as tf

    layer = textgru.GRU(
        5, reset_after=reset_after, return_sequences=True, return_state=True,
        go_backwards=True, bias_initializer="uniform",
    )  # fmt: skip
    layer.build((None, None, 3))
    spec = [tf.TensorSpec((None, None, 3)), tf.TensorSpec((None, None), tf.bool)]

    @tf.function(input_signature=spec)
    def run(x, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, state = layer(x, mask=mask)
            loss = tf.reduce_sum(outputs * outputs) + tf.reduce_sum(state)
        return outputs, state, tape.gradient(loss, [x, *layer.trainable_weights])

    for steps in (1, 8, 9, 13):
        x = rng.normal(size=(3, steps, 3)).astype("float32")
        mask = rng.uniform(size=(3, steps)) > 0.3
        fast = run(x, mask)
        with monkeypatch.context() as patch:
            _plain(patch)
            plain = tf.function(run.python_function, input_signature=spec)(x, mask)
        assert fast[0].shape == (3, steps, 5)
        for a, b in zip(tf.nest.flatten(fast), tf.nest.flatten(plain), strict=True):
            np.testing.assert_allclose(a, b, atol=2e-5)
    assert fast_calls


@TF_ONLY
def test_run_time_lengths_are_padded_to_a_ladder():
    import tensorflow as tf

    from textgru.layers import recurrence_tensorflow

    def padded(steps):
        return int(recurrence_tensorflow.padded_length(tf.constant(steps)))

    got = [padded(s) for s in (1, 8, 9, 12, 13, 16, 17, 25, 33, 100, 129, 200)]
    assert got == [8, 8, 12, 12, 16, 16, 24, 32, 48, 128, 192, 256]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("reset_after", [False, True])
# TensorFlow's loop splits the batch in halves (odd and one-row batches are
# its edge cases); JAX's does not.
@pytest.mark.parametrize("batch", [1, 3, 8] if ON_TF else [3])
def test_fast_equals_plain_for_any_batch_size(
    training, reset_after, batch, rng, monkeypatch
):
    """Each half of the batch runs in its own loop: odd batches and a batch
    of one (an empty half) give the plain loop's values and gradients,
    including those of the initial state. Out of training the loop keeps
    only the states, and a gradient asked for runs it again."""
    layer = textgru.GRU(
        5, reset_after=reset_after, return_sequences=True, bias_initializer="uniform"
    )
    x = rng.normal(size=(batch, 7, 3)).astype("float32")
    h0 = rng.normal(size=(batch, 5)).astype("float32")
    mask = rng.uniform(size=(batch, 7)) > 0.3
    weights = rng.normal(size=(batch, 7, 5)).astype("float32")

    def reduce(y):
        return keras.ops.sum(y * weights)

    def run():
        outputs = np.asarray(layer(x, initial_state=h0, mask=mask, training=training))
        grads = gradients(
            layer, x, reduce, initial_state=h0, mask=mask, training=training
        )
        return (
            outputs,
            grads,
            _initial_state_gradient(layer, x, h0, mask, reduce, training),
        )

    fast = run()
    with monkeypatch.context() as patch:
        _plain(patch)
        plain = run()
    np.testing.assert_allclose(fast[0], plain[0], atol=1e-6)
    for g1, g2 in zip(fast[1], plain[1], strict=True):
        np.testing.assert_allclose(g1, g2, atol=2e-5)
    np.testing.assert_allclose(fast[2], plain[2], atol=2e-5)


def _initial_state_gradient(layer, x, h0, mask, reduce, training=False):
    if keras.backend.backend() == "jax":
        import jax

        values = [v.value for v in layer.trainable_variables]
        frozen = [v.value for v in layer.non_trainable_variables]

        def loss(state):
            y, _ = layer.stateless_call(
                values, frozen, x, initial_state=state, mask=mask, training=training
            )
            return reduce(y)

        return np.asarray(jax.grad(loss)(h0))
    import tensorflow as tf

    state = tf.constant(h0)
    with tf.GradientTape() as tape:
        tape.watch(state)
        loss = reduce(layer(x, initial_state=state, mask=mask, training=training))
    return np.asarray(tape.gradient(loss, state))


def test_training_on_the_fast_path_gives_the_plain_paths_weights(
    rng, monkeypatch, fast_calls
):
    ids = rng.integers(1, 30, size=(32, 12)).astype("int32")
    labels = rng.integers(0, 2, size=(32, 1)).astype("float32")

    def trained():
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [
                keras.Input((12,), dtype="int32"),
                keras.layers.Embedding(30, 8, mask_zero=True),
                keras.layers.Bidirectional(textgru.GRU(6, return_sequences=True)),
                textgru.GRU(6, reset_after=True),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy")
        history = model.fit(
            ids, labels, batch_size=8, epochs=2, verbose=0, shuffle=False
        )
        return model.get_weights(), history.history["loss"]

    fast_weights, fast_loss = trained()
    assert fast_calls
    with monkeypatch.context() as patch:
        _plain(patch)
        plain_weights, plain_loss = trained()
    np.testing.assert_allclose(fast_loss, plain_loss, rtol=1e-5)
    for a, b in zip(fast_weights, plain_weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("use_cudnn", ["auto", True, False])
def test_kerass_use_cudnn_is_fast_path(use_cudnn, fast_calls, rng, tmp_path):
    """Code written for `keras.layers.GRU(use_cudnn=...)` runs unchanged: the
    same values, taken as `fast_path` (and saved as it); the same answers as
    Keras's GRU with its weights."""
    from textgru.errors import InvalidArgumentError

    layer = textgru.GRU(4, use_cudnn=use_cudnn, reset_after=True)
    theirs = keras.layers.GRU(4, use_cudnn="auto", reset_after=True)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    ours = layer(x)
    theirs(x)
    theirs.set_weights(layer.get_weights())
    np.testing.assert_allclose(ours, theirs(x), atol=1e-5)
    assert layer.fast_path == use_cudnn
    assert bool(fast_calls) == (use_cudnn is not False)
    config = layer.get_config()
    assert config["fast_path"] == use_cudnn and "use_cudnn" not in config
    assert textgru.GRU.from_config(config).fast_path == use_cudnn
    with pytest.raises(InvalidArgumentError, match="Keras's name for `fast_path`"):
        textgru.GRU(4, use_cudnn=False, fast_path=True)
    with pytest.raises(InvalidArgumentError, match="use_cudnn='yes'"):
        textgru.GRU(4, use_cudnn="yes")
