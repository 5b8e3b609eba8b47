"""textgru.layers.SequencePooling: harness, masked max and mean against NumPy."""

import keras
import numpy as np
import pytest

from tests.layers.harness import run_layer_test
from textgru.errors import InvalidArgumentError
from textgru.layers import SequencePooling

pytestmark = pytest.mark.layers


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_harness(mode, rng, tmp_path):
    run_layer_test(
        lambda: SequencePooling(mode),
        rng.normal(size=(3, 5, 4)).astype("float32"),
        expected_output_shape=(3, 4),
        expected_num_weights=0,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_masked_steps_are_ignored(mode, rng):
    x = rng.normal(size=(4, 6, 3)).astype("float32") - 5.0  # all negative
    lengths = np.array([6, 3, 1, 0])
    mask = np.arange(6)[None, :] < lengths[:, None]
    got = np.asarray(SequencePooling(mode)(x, mask=mask))
    for row, n in enumerate(lengths):
        if n == 0:
            expected = np.zeros(3)  # nothing to pool
        elif mode == "max":
            expected = x[row, :n].max(axis=0)
        else:
            expected = x[row, :n].mean(axis=0)
        np.testing.assert_allclose(got[row], expected, rtol=1e-6)


def test_zeros_at_padded_steps_do_not_win_the_max():
    # A bidirectional GRU outputs zeros at masked steps; the max must skip them.
    inputs = keras.Input((None,), dtype="int32")
    ones = keras.layers.Embedding(10, 2, mask_zero=True, embeddings_initializer="ones")
    minus_one = keras.layers.Dense(
        2,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(-1.0),
    )
    shifted = minus_one(ones(inputs))
    model = keras.Model(inputs, SequencePooling("max")(shifted))
    out = model.predict(np.array([[3, 4, 0, 0]]), verbose=0)
    np.testing.assert_allclose(out, [[-1.0, -1.0]])


def test_without_a_mask_pools_every_step(rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(SequencePooling("max")(x)), x.max(1), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(SequencePooling("mean")(x)), x.mean(1), rtol=1e-6
    )


def test_bad_mode():
    with pytest.raises(InvalidArgumentError, match="Received: mode='sum'"):
        SequencePooling("sum")
