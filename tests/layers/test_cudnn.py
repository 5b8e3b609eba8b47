"""On a GPU, textgru.GRU(reset_after=True) runs cuDNN through Keras's own
backend, as keras.layers.GRU does. Without a GPU the dispatch is checked
with the GPU and Keras's `backend.gru` stood in for; the parity test needs a
real GPU and is skipped with the reason where there is none."""

import keras
import numpy as np
import pytest

import textgru
from tests.layers.harness import gradients
from textgru.layers import gru as gru_module
from textgru.layers import recurrence

pytestmark = pytest.mark.layers


@pytest.fixture
def cudnn_calls(monkeypatch):
    """A stand-in GPU and `backend.gru` that records its arguments and answers
    with constant sevens (or raises NotImplementedError when told to)."""
    calls = _Calls()
    monkeypatch.setattr(recurrence, "_backend_sees_a_gpu", lambda: True)

    def fake_gru(sequences, h0, mask, **kwargs):
        calls.append(dict(kwargs, mask=mask))
        if calls.refuse:
            raise NotImplementedError
        batch, steps = sequences.shape[:2]
        units = kwargs["recurrent_kernel"].shape[0]
        last = keras.ops.full((batch, units), 7.0)
        return last, keras.ops.full((batch, steps, units), 7.0), [last]

    monkeypatch.setattr(gru_module.keras_backend, "gru", fake_gru)
    return calls


class _Calls(list):
    refuse = False


def test_the_stock_reset_after_gru_asks_keras_for_cudnn(cudnn_calls, rng):
    layer = textgru.GRU(4, reset_after=True, go_backwards=True)
    out = np.asarray(layer(rng.normal(size=(2, 5, 3)).astype("float32")))
    np.testing.assert_array_equal(out, np.full((2, 4), 7.0))
    (call,) = cudnn_calls
    assert call["kernel"] is layer.cell.kernel
    assert call["recurrent_kernel"] is layer.cell.recurrent_kernel
    assert call["bias"] is layer.cell.bias
    assert call["reset_after"] and call["go_backwards"]
    assert not call["return_sequences"]


def test_where_cudnn_cannot_run_the_plain_loop_does(cudnn_calls, rng):
    cudnn_calls.refuse = True
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    layer = textgru.GRU(4, reset_after=True)
    out = np.asarray(layer(x))
    assert cudnn_calls  # asked, refused
    plain = textgru.GRU(4, reset_after=True, fast_path=False)
    plain(x)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(out, np.asarray(plain(x)), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"reset_after": False},  # the seed's form: cuDNN lacks it
        {"reset_after": True, "activation": "relu"},
        {"reset_after": True, "fast_path": False},
    ],
)
def test_what_cudnn_cannot_compute_never_goes_to_it(kwargs, cudnn_calls, rng):
    textgru.GRU(4, **kwargs)(rng.normal(size=(2, 5, 3)).astype("float32"))
    assert not cudnn_calls


def test_recurrent_dropout_keeps_cudnn_out_of_training(cudnn_calls, rng):
    layer = textgru.GRU(4, reset_after=True, recurrent_dropout=0.5)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    layer(x, training=True)
    assert not cudnn_calls
    layer(x, training=False)
    assert cudnn_calls


@pytest.mark.skipif(
    not recurrence._backend_sees_a_gpu(),
    reason="needs a GPU: the backend sees none (the CPU tests above check the "
    "dispatch)",
)
def test_on_a_gpu_the_layer_equals_keras_gru_with_cudnn(rng, monkeypatch):
    ran = []
    real = gru_module.keras_backend.gru

    def spied(*args, **kwargs):
        out = real(*args, **kwargs)  # raises NotImplementedError if it cannot
        ran.append(1)
        return out

    monkeypatch.setattr(gru_module.keras_backend, "gru", spied)
    ours = textgru.GRU(8, reset_after=True, return_sequences=True)
    theirs = keras.layers.GRU(8, reset_after=True, return_sequences=True)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    lengths = np.array([9, 7, 3, 1])
    mask = np.arange(9)[None, :] < lengths[:, None]  # right-padded, as cuDNN asks
    ours(x, mask=mask)
    theirs(x, mask=mask)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(
        np.asarray(ours(x, mask=mask)), np.asarray(theirs(x, mask=mask)), atol=1e-5
    )
    assert ran

    def reduce(y):
        return keras.ops.sum(y * y)

    for g1, g2 in zip(
        gradients(ours, x, reduce, mask=mask),
        gradients(theirs, x, reduce, mask=mask),
        strict=True,
    ):
        np.testing.assert_allclose(g1, g2, atol=1e-4)
