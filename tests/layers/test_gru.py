"""textgru.GRU and textgru.GRUCell: harness, equations, Keras parity, masking,
states, dropout, serialization, mixed precision and argument checks."""

import math

import keras
import numpy as np
import pytest

import textgru
from tests.layers.harness import (
    assert_reloads_in_a_new_process,
    gradients,
    run_layer_test,
)
from tests.layers.reference import gru_reference, sigmoid
from textgru.layers import copy_gru_weights, recurrence

pytestmark = pytest.mark.layers

RESET_AFTER = pytest.mark.parametrize("reset_after", [False, True])


@pytest.fixture(params=["fast", "plain"])
def loop(request, monkeypatch, fast_everywhere):
    """Runs a test on each of textgru.GRU's two loops: the fast path
    (`textgru.layers.recurrence`, TensorFlow and JAX) and the plain one, and
    checks that the one named was the one used."""
    calls = []
    if request.param == "plain":
        monkeypatch.setattr(recurrence, "why_not", lambda *a, **k: "the test asks")
    elif keras.backend.backend() not in recurrence.BACKENDS:
        pytest.skip("the fast path runs on TensorFlow and JAX")
    else:
        real = recurrence.recurrence
        monkeypatch.setattr(
            recurrence, "recurrence", lambda *a, **k: calls.append(1) or real(*a, **k)
        )
    yield request.param
    assert bool(calls) == (request.param == "fast")


def _pair(units, input_dim, reset_after, rng, **kwargs):
    """A textgru.GRU and a keras.layers.GRU with the same random weights
    (random biases too, so bias handling is checked)."""
    ours = textgru.GRU(units, reset_after=reset_after, **kwargs)
    theirs = keras.layers.GRU(units, reset_after=reset_after, **kwargs)
    shape = (None, None, input_dim)
    ours.build(shape)
    theirs.build(shape)
    for variable in ours.cell.weights:
        variable.assign(rng.normal(0, 0.5, size=variable.shape).astype("float32"))
    copy_gru_weights(ours, theirs)
    return ours, theirs


def _weights(layer):
    cell = layer.cell
    bias = None if cell.bias is None else np.asarray(cell.bias)
    return np.asarray(cell.kernel), np.asarray(cell.recurrent_kernel), bias


def _padded_mask(batch, steps, rng, side):
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0] = steps
    positions = np.arange(steps)[None, :]
    if side == "right":
        return positions < lengths[:, None]
    return positions >= (steps - lengths)[:, None]


# --- the harness -------------------------------------------------------------


@RESET_AFTER
def test_gru_layer_harness(reset_after, rng, tmp_path):
    run_layer_test(
        lambda: textgru.GRU(5, reset_after=reset_after, return_sequences=True),
        rng.normal(size=(3, 6, 4)).astype("float32"),
        expected_output_shape=(3, 6, 5),
        expected_num_weights=3,
        tmp_path=tmp_path,
    )


def test_gru_layer_harness_without_bias(rng, tmp_path):
    run_layer_test(
        lambda: textgru.GRU(5, use_bias=False),
        rng.normal(size=(3, 6, 4)).astype("float32"),
        expected_output_shape=(3, 5),
        expected_num_weights=2,
        tmp_path=tmp_path,
    )


@RESET_AFTER
def test_cell_harness_inside_keras_rnn(reset_after, rng, tmp_path):
    run_layer_test(
        lambda: keras.layers.RNN(textgru.GRUCell(5, reset_after=reset_after)),
        rng.normal(size=(3, 6, 4)).astype("float32"),
        expected_output_shape=(3, 5),
        expected_num_weights=3,
        tmp_path=tmp_path,
    )


@RESET_AFTER
def test_weight_names_and_shapes_match_keras(reset_after):
    ours = textgru.GRU(7, reset_after=reset_after)
    theirs = keras.layers.GRU(7, reset_after=reset_after)
    ours.build((None, None, 3))
    theirs.build((None, None, 3))

    def describe(layer):
        return [(w.path.split("/")[-1], tuple(w.shape)) for w in layer.weights]

    assert describe(ours) == describe(theirs)
    bias_shape = (2, 21) if reset_after else (21,)
    assert describe(ours) == [
        ("kernel", (3, 21)),
        ("recurrent_kernel", (7, 21)),
        ("bias", bias_shape),
    ]


# --- the equations -----------------------------------------------------------


@RESET_AFTER
@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_float64_numpy_loop(reset_after, go_backwards, rng, loop):
    layer, _ = _pair(
        6,
        4,
        reset_after,
        rng,
        return_sequences=True,
        return_state=True,
        go_backwards=go_backwards,
    )
    x = rng.normal(size=(5, 9, 4)).astype("float32")
    h0 = rng.normal(0, 0.5, size=(5, 6)).astype("float32")
    mask = _padded_mask(5, 9, rng, "right")
    outputs, state = layer(x, initial_state=h0, mask=mask)
    expected_outputs, expected_state = gru_reference(
        x,
        *_weights(layer),
        reset_after=reset_after,
        h0=h0,
        mask=mask,
        go_backwards=go_backwards,
    )
    np.testing.assert_allclose(np.asarray(outputs), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), expected_state, atol=1e-5)


@RESET_AFTER
def test_cell_single_step_matches_equations(reset_after, rng):
    cell = textgru.GRUCell(3, reset_after=reset_after, bias_initializer="random_normal")
    x = rng.normal(size=(2, 4)).astype("float32")
    h = rng.normal(size=(2, 3)).astype("float32")
    output, [new_h] = cell(x, [h])
    expected = gru_reference(
        x[:, None, :],
        *(np.asarray(w) for w in (cell.kernel, cell.recurrent_kernel, cell.bias)),
        reset_after=reset_after,
        h0=h,
    )[1]
    np.testing.assert_allclose(np.asarray(new_h), expected, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(output), np.asarray(new_h))


@RESET_AFTER
def test_expected_values_under_constant_initializers(reset_after):
    # kernel = recurrent_kernel = 0.1 everywhere, bias = 0.2, one input
    # feature = 1, two units, zero initial state. By hand, at step 1
    # (h = 0): z = r = sigmoid(0.1 + 0.2) and h~ = tanh(0.1 + 0.2) in both
    # forms, so h1 = (1 - z) * h~ in each unit. At step 2 (h = h1 in both
    # units, U h = 0.2 * h1 per gate):
    #   before: z = r = s(0.3 + 0.2 h1), h~ = tanh(0.3 + 0.1 * 2 * r * h1)
    #   after:  z = r = s(0.5 + 0.2 h1), h~ = tanh(0.3 + r * (0.2 h1 + 0.2))
    layer = textgru.GRU(
        2,
        reset_after=reset_after,
        return_sequences=True,
        kernel_initializer=keras.initializers.Constant(0.1),
        recurrent_initializer=keras.initializers.Constant(0.1),
        bias_initializer=keras.initializers.Constant(0.2),
    )
    outputs = np.asarray(layer(np.ones((1, 2, 1), "float32")))
    s = sigmoid
    if reset_after:
        z1 = s(0.5)
        h1 = (1 - z1) * math.tanh(0.3 + z1 * 0.2)
        z2 = s(0.5 + 0.2 * h1)
        h2 = z2 * h1 + (1 - z2) * math.tanh(0.3 + z2 * (0.2 * h1 + 0.2))
    else:
        z1 = s(0.3)
        h1 = (1 - z1) * math.tanh(0.3)
        z2 = s(0.3 + 0.2 * h1)
        h2 = z2 * h1 + (1 - z2) * math.tanh(0.3 + 0.2 * z2 * h1)
    np.testing.assert_allclose(outputs[0], [[h1, h1], [h2, h2]], rtol=1e-6)


def test_sigmoid_reference_is_sane():
    # Guards the reference itself against a silent typo.
    assert sigmoid(0.0) == 0.5
    assert abs(sigmoid(2.0) - 1 / (1 + math.exp(-2.0))) < 1e-15


# --- parity with keras.layers.GRU --------------------------------------------


@RESET_AFTER
@pytest.mark.parametrize("padding", [None, "right", "left"])
def test_outputs_and_gradients_match_keras(reset_after, padding, rng, loop):
    ours, theirs = _pair(8, 5, reset_after, rng, return_sequences=True)
    x = rng.normal(size=(6, 11, 5)).astype("float32")
    kwargs = {}
    if padding:
        kwargs["mask"] = _padded_mask(6, 11, rng, padding)
    np.testing.assert_allclose(
        np.asarray(ours(x, **kwargs)), np.asarray(theirs(x, **kwargs)), atol=1e-5
    )
    # A loss that weighs every output differently, so no gradient cancels.
    weights = rng.normal(size=(6, 11, 8)).astype("float32")

    def reduce(y):
        return keras.ops.sum(y * weights)

    ours_grads = gradients(ours, x, reduce, **kwargs)
    theirs_grads = gradients(theirs, x, reduce, **kwargs)
    assert len(ours_grads) == len(theirs_grads) == 4
    for name, g1, g2 in zip(
        ["inputs", "kernel", "recurrent_kernel", "bias"],
        ours_grads,
        theirs_grads,
        strict=True,
    ):
        assert np.abs(g2).max() > 0, name
        np.testing.assert_allclose(g1, g2, atol=1e-4, err_msg=name)


@RESET_AFTER
def test_bidirectional_matches_keras(reset_after, rng, loop):
    x = rng.normal(size=(4, 7, 3)).astype("float32")
    mask = _padded_mask(4, 7, rng, "right")
    ours = keras.layers.Bidirectional(
        textgru.GRU(5, reset_after=reset_after, return_sequences=True)
    )
    theirs = keras.layers.Bidirectional(
        keras.layers.GRU(5, reset_after=reset_after, return_sequences=True)
    )
    ours(x)
    theirs(x)
    copy_gru_weights(theirs.forward_layer, ours.forward_layer)
    copy_gru_weights(theirs.backward_layer, ours.backward_layer)
    np.testing.assert_allclose(
        np.asarray(ours(x, mask=mask)), np.asarray(theirs(x, mask=mask)), atol=1e-5
    )


def test_stacked_cells_inside_keras_rnn(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    stacked = keras.layers.RNN([textgru.GRUCell(4), textgru.GRUCell(6)])
    assert stacked(x).shape == (2, 6)


# --- masking -----------------------------------------------------------------


@RESET_AFTER
def test_left_and_right_padding_give_the_same_states(reset_after, rng, loop):
    layer, _ = _pair(6, 4, reset_after, rng, return_sequences=True, return_state=True)
    lengths = [7, 3, 5, 1]
    tokens = [rng.normal(size=(n, 4)).astype("float32") for n in lengths]
    right = np.zeros((4, 7, 4), "float32")
    left = np.zeros((4, 7, 4), "float32")
    for i, seq in enumerate(tokens):
        right[i, : len(seq)] = seq
        left[i, 7 - len(seq) :] = seq
    right_mask = np.any(right != 0, axis=-1)
    left_mask = np.any(left != 0, axis=-1)
    right_out, right_state = layer(right, mask=right_mask)
    left_out, left_state = layer(left, mask=left_mask)
    np.testing.assert_allclose(
        np.asarray(right_state), np.asarray(left_state), atol=1e-6
    )
    right_out, left_out = np.asarray(right_out), np.asarray(left_out)
    for i, n in enumerate(lengths):
        # The states at the real tokens agree wherever the padding sits.
        np.testing.assert_allclose(right_out[i, :n], left_out[i, 7 - n :], atol=1e-6)


def test_masked_step_keeps_the_previous_state(rng, loop):
    layer = textgru.GRU(4, return_sequences=True)
    x = rng.normal(size=(1, 5, 3)).astype("float32")
    mask = np.array([[True, True, False, False, True]])
    out = np.asarray(layer(x, mask=mask))[0]
    np.testing.assert_array_equal(out[2], out[1])
    np.testing.assert_array_equal(out[3], out[1])
    assert not np.allclose(out[4], out[1])


@RESET_AFTER
def test_fully_masked_row_gives_the_initial_state(reset_after, rng, loop):
    layer = textgru.GRU(4, reset_after=reset_after, return_state=True)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[False] * 5, [True] * 5])
    h0 = rng.normal(size=(2, 4)).astype("float32")
    _, state = layer(x, mask=mask, initial_state=h0)
    state = np.asarray(state)
    assert np.isfinite(state).all()
    np.testing.assert_array_equal(state[0], h0[0])
    _, zero_state = layer(x, mask=mask)
    np.testing.assert_array_equal(np.asarray(zero_state)[0], np.zeros(4))


def test_mask_from_embedding_and_masking_layers(rng):
    ids = np.array([[5, 3, 8, 0, 0], [2, 9, 0, 0, 0]])
    embedding = keras.layers.Embedding(10, 3, mask_zero=True)
    layer = textgru.GRU(4)
    vectors = embedding(ids)
    via_embedding = np.asarray(layer(vectors, mask=embedding.compute_mask(ids)))
    explicit = np.asarray(layer(vectors, mask=ids != 0))
    np.testing.assert_array_equal(via_embedding, explicit)
    # Inside a model the mask flows by itself.
    model = keras.Sequential([keras.Input((5,), dtype="int32"), embedding, layer])
    np.testing.assert_allclose(np.asarray(model(ids)), explicit, atol=1e-6)
    masked = keras.Sequential([keras.Input((5, 3)), keras.layers.Masking(0.0), layer])
    zeros_padded = np.where((ids != 0)[..., None], np.asarray(vectors), 0.0)
    np.testing.assert_allclose(np.asarray(masked(zeros_padded)), explicit, atol=1e-6)


# --- states and options ------------------------------------------------------


def test_return_state_and_go_backwards(rng, loop):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    layer = textgru.GRU(4, return_sequences=True, return_state=True, go_backwards=True)
    outputs, state = layer(x)
    np.testing.assert_array_equal(np.asarray(outputs)[:, -1], np.asarray(state))
    forward = textgru.GRU(4, return_sequences=True)
    forward(x)
    forward.set_weights(layer.get_weights())
    # Backwards over x is forwards over reversed x.
    np.testing.assert_allclose(
        np.asarray(forward(x[:, ::-1])), np.asarray(outputs), atol=1e-6
    )


def test_stateful_carries_state_and_reset_state(rng, loop):
    x = rng.normal(size=(2, 8, 3)).astype("float32")
    stateful = textgru.GRU(4, stateful=True)
    stateful.build((2, None, 3))
    whole = textgru.GRU(4)
    whole.build((2, None, 3))
    whole.set_weights(stateful.get_weights()[:3])
    stateful(x[:, :4])
    second_half = np.asarray(stateful(x[:, 4:]))
    np.testing.assert_allclose(second_half, np.asarray(whole(x)), atol=1e-6)
    stateful.reset_state()
    np.testing.assert_allclose(
        np.asarray(stateful(x[:, :4])), np.asarray(whole(x[:, :4])), atol=1e-6
    )


def test_dropout_uses_one_mask_per_sequence():
    # With a zero recurrent kernel and z pinned near 0, each output is
    # h~ = tanh(W_h (x * m)) of that step alone; identical inputs at every
    # step then give identical outputs only if the mask m is the same at
    # every step.
    units, features = 3, 40
    layer = textgru.GRU(
        units,
        dropout=0.5,
        return_sequences=True,
        seed=7,
        recurrent_initializer="zeros",
        bias_initializer=keras.initializers.Constant(
            [-30.0] * units + [0.0] * 2 * units
        ),
    )
    x = np.ones((2, 6, features), "float32")
    train = np.asarray(layer(x, training=True))
    infer = np.asarray(layer(x, training=False))
    assert not np.allclose(train, infer)
    np.testing.assert_allclose(train, np.repeat(train[:, :1], 6, axis=1), atol=1e-6)
    # A new call draws a new mask.
    assert not np.allclose(np.asarray(layer(x, training=True)), train)


def test_recurrent_dropout_trains_and_is_off_at_inference(rng):
    layer = textgru.GRU(6, recurrent_dropout=0.5, dropout=0.2, seed=3)
    x = rng.normal(size=(4, 5, 3)).astype("float32")
    infer = np.asarray(layer(x))
    np.testing.assert_array_equal(infer, np.asarray(layer(x, training=False)))
    train = np.asarray(layer(x, training=True))
    assert np.isfinite(train).all() and not np.allclose(train, infer)


# --- serialization -----------------------------------------------------------


def test_config_keeps_every_argument():
    layer = textgru.GRU(
        9,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        use_bias=False,
        kernel_regularizer="l2",
        recurrent_constraint="non_neg",
        dropout=0.25,
        recurrent_dropout=0.1,
        reset_after=True,
        seed=5,
        return_sequences=True,
        return_state=True,
        go_backwards=True,
        unroll=True,
        name="g",
    )
    clone = textgru.GRU.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.units, clone.reset_after, clone.dropout, clone.seed) == (
        9,
        True,
        0.25,
        5,
    )
    cell = textgru.GRUCell(4, reset_after=True, dropout=0.5)
    assert (
        textgru.GRUCell.from_config(cell.get_config()).get_config() == cell.get_config()
    )


def test_saved_model_reloads_in_a_new_process(tmp_path, rng):
    ids = rng.integers(1, 50, size=(4, 9))
    ids[1, 5:] = 0
    model = keras.Sequential(
        [
            keras.Input((9,), dtype="int32"),
            keras.layers.Embedding(50, 8, mask_zero=True),
            keras.layers.Bidirectional(textgru.GRU(6, return_sequences=True)),
            textgru.GRU(5, reset_after=True),
            keras.layers.Dense(2),
        ]
    )
    assert_reloads_in_a_new_process(model, ids, tmp_path)


# --- mixed precision ---------------------------------------------------------


def test_mixed_bfloat16_policy(rng):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(20, 8, mask_zero=True),
            textgru.GRU(8, return_sequences=True),
            textgru.GRU(4, reset_after=True),
            keras.layers.Dense(1, dtype="float32"),
        ]
    )
    gru = model.layers[1]
    assert gru.compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in gru.weights)
    ids = rng.integers(0, 20, size=(8, 6))
    assert (
        keras.backend.standardize_dtype(gru(model.layers[0](ids)).dtype) == "bfloat16"
    )
    model.compile(optimizer="adam", loss="mse")
    before = [keras.ops.convert_to_numpy(w) for w in gru.weights]
    loss = model.train_on_batch(ids, np.ones((8, 1), "float32"))
    assert np.isfinite(loss)
    assert not np.allclose(before[0], np.asarray(gru.weights[0]))


# --- bad arguments -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"units": 0}, "units=0"),
        ({"units": -3}, "units=-3"),
        ({"units": 2.5}, "units=2.5"),
        ({"units": 4, "dropout": 1.0}, "dropout=1.0"),
        ({"units": 4, "dropout": -0.1}, "dropout=-0.1"),
        ({"units": 4, "recurrent_dropout": 1.5}, "recurrent_dropout=1.5"),
        ({"units": 4, "activation": "no_such_activation"}, "no_such_activation"),
        ({"units": 4, "recurrent_activation": "nope"}, "nope"),
    ],
)
@pytest.mark.parametrize("cls", [textgru.GRU, textgru.GRUCell])
def test_bad_arguments_raise_clear_errors(cls, kwargs, fragment):
    with pytest.raises(textgru.InvalidArgumentError, match="Received") as info:
        cls(**kwargs)
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5)])
def test_input_of_wrong_rank_is_a_clear_error(shape):
    with pytest.raises(ValueError, match="rank 3") as info:
        textgru.GRU(4)(np.zeros(shape, "float32"))
    assert str(shape) in str(info.value)


def test_unknown_length_with_a_fixed_batch_runs_every_step(rng):
    # Time axis unknown when the graph is traced, batch size fixed (as for
    # stateful layers): every one of the 9 steps must run, not `batch` of them.
    if keras.backend.backend() != "tensorflow":
        pytest.skip("only TensorFlow traces graphs with an unknown time axis")
    import tensorflow as tf

    layer = textgru.GRU(4, return_sequences=True)
    layer.build((2, None, 3))
    traced = tf.function(layer, input_signature=[tf.TensorSpec((2, None, 3))])
    x = rng.normal(size=(2, 9, 3)).astype("float32")
    expected, _ = gru_reference(x, *_weights(layer), reset_after=False)
    np.testing.assert_allclose(np.asarray(traced(x)), expected, atol=1e-5)


def test_unknown_length_with_a_mask_matches_the_reference(rng):
    # Batches of varying length (as tf.data pads them) with a padding mask: the
    # masked inputs reach the backend loop as a tuple, with the length unknown.
    if keras.backend.backend() != "tensorflow":
        pytest.skip("only TensorFlow traces graphs with an unknown time axis")
    import tensorflow as tf

    layer = textgru.GRU(4)
    layer.build((None, None, 3))
    traced = tf.function(
        lambda x, mask: layer(x, mask=mask),
        input_signature=[
            tf.TensorSpec((None, None, 3)),
            tf.TensorSpec((None, None), tf.bool),
        ],
    )
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    mask = np.arange(7)[None, :] < np.array([[7], [4]])
    got = np.asarray(traced(x, mask))
    for row, length in enumerate((7, 4)):
        expected, _ = gru_reference(
            x[row : row + 1, :length], *_weights(layer), reset_after=False
        )
        np.testing.assert_allclose(got[row], expected[0, -1], atol=1e-5)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="a tf.function trace"
)
@pytest.mark.parametrize("reset_after", [False, True])
def test_a_stateful_layer_traced_with_an_unknown_batch_is_keras_s(rng, reset_after):
    """Built eagerly on a batch of 2, then traced with batch None: the fast
    loop refused the state's static shape; Keras's GRU returns (2, 5)."""
    import tensorflow as tf

    x = rng.normal(size=(2, 3, 4)).astype("float32")
    ours = textgru.GRU(5, stateful=True, reset_after=reset_after)
    theirs = keras.layers.GRU(5, stateful=True, reset_after=reset_after)
    ours(x), theirs(x)
    copy_gru_weights(ours, theirs)
    ours.reset_states(), theirs.reset_states()
    spec = [tf.TensorSpec((None, 3, 4), tf.float32)]
    for _ in range(2):  # the second call starts from the carried state
        got = tf.function(ours, input_signature=spec)(x)
        want = tf.function(theirs, input_signature=spec)(x)
        assert tuple(got.shape) == (2, 5)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)
