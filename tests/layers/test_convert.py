"""Weight conversion between textgru, keras.layers.GRU and PyTorch nn.GRU."""

import keras
import numpy as np
import pytest

import textgru
from tests.layers.reference import sigmoid
from textgru.layers import (
    copy_gru_weights,
    from_torch_state_dict,
    keras_gru_to_textgru,
    textgru_to_keras_gru,
    to_torch_state_dict,
)

pytestmark = pytest.mark.layers


def _randomize(layer, rng):
    for variable in layer.weights:
        variable.assign(rng.normal(0, 0.5, size=variable.shape).astype("float32"))


@pytest.mark.parametrize("reset_after", [False, True])
def test_keras_to_textgru_and_back(reset_after, rng):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    theirs = keras.layers.GRU(5, reset_after=reset_after, return_sequences=True)
    theirs(x)
    _randomize(theirs, rng)
    ours = keras_gru_to_textgru(theirs)
    assert isinstance(ours, textgru.GRU)
    assert (ours.units, ours.reset_after, ours.return_sequences) == (
        5,
        reset_after,
        True,
    )
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    back = textgru_to_keras_gru(ours)
    assert type(back) is keras.layers.GRU
    for a, b in zip(back.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_keras_default_reset_after_is_kept():
    theirs = keras.layers.GRU(3)
    theirs.build((None, None, 2))
    assert keras_gru_to_textgru(theirs).reset_after is True


@pytest.mark.parametrize(
    "source, target, fragment",
    [
        (
            dict(units=4, reset_after=True),
            dict(units=4, reset_after=False),
            "reset_after",
        ),
        (dict(units=4), dict(units=5), "units"),
        (dict(units=4, use_bias=False), dict(units=4), "use_bias"),
    ],
)
def test_copy_refuses_mismatched_layers(source, target, fragment):
    a, b = textgru.GRU(**source), textgru.GRU(**target)
    a.build((None, None, 3))
    b.build((None, None, 3))
    with pytest.raises(textgru.InvalidArgumentError, match=fragment):
        copy_gru_weights(a, b)


def test_copy_refuses_other_input_size_and_unbuilt_layers():
    a, b = textgru.GRU(4), textgru.GRU(4)
    a.build((None, None, 3))
    with pytest.raises(textgru.InvalidArgumentError, match="built"):
        copy_gru_weights(a, b)
    b.build((None, None, 5))
    with pytest.raises(textgru.InvalidArgumentError, match="input sizes"):
        copy_gru_weights(a, b)
    with pytest.raises(textgru.InvalidArgumentError, match="GRU layer"):
        copy_gru_weights(keras.layers.Dense(3), b)


def _torch_reference(x, sd, units):
    """PyTorch's documented nn.GRU equations in its own gate order r | z | n,
    float64, written independently of textgru's layout."""
    W_ir, W_iz, W_in = np.split(sd["weight_ih_l0"].astype(np.float64), 3)
    W_hr, W_hz, W_hn = np.split(sd["weight_hh_l0"].astype(np.float64), 3)
    b_ir, b_iz, b_in = np.split(sd["bias_ih_l0"].astype(np.float64), 3)
    b_hr, b_hz, b_hn = np.split(sd["bias_hh_l0"].astype(np.float64), 3)
    h = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        xt = x[:, t].astype(np.float64)
        r = sigmoid(xt @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = sigmoid(xt @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(xt @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
    return h


def test_torch_state_dict_follows_torch_equations(rng):
    units, x = 5, rng.normal(size=(3, 7, 4)).astype("float32")
    ours = textgru.GRU(units, reset_after=True)
    ours(x)
    _randomize(ours, rng)
    state = to_torch_state_dict(ours)
    assert sorted(state) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    assert state["weight_ih_l0"].shape == (3 * units, 4)
    assert state["weight_hh_l0"].shape == (3 * units, units)
    np.testing.assert_allclose(
        np.asarray(ours(x)), _torch_reference(x, state, units), atol=1e-5
    )
    # And back: a fresh, unbuilt layer is built from the state dict.
    fresh = textgru.GRU(units, reset_after=True)
    from_torch_state_dict(fresh, state)
    for a, b in zip(fresh.get_weights(), ours.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_torch_conversion_refuses_what_torch_cannot_hold(rng):
    layer = textgru.GRU(4)
    layer.build((None, None, 3))
    with pytest.raises(textgru.InvalidArgumentError, match="reset_after=True"):
        to_torch_state_dict(layer)
    relu = textgru.GRU(4, reset_after=True, activation="relu")
    relu.build((None, None, 3))
    with pytest.raises(textgru.InvalidArgumentError, match="tanh"):
        to_torch_state_dict(relu)
    ok = textgru.GRU(4, reset_after=True)
    ok.build((None, None, 3))
    state = to_torch_state_dict(ok)
    with pytest.raises(textgru.InvalidArgumentError, match="layer_index"):
        from_torch_state_dict(ok, state, layer_index=1)
    wrong_units = textgru.GRU(6, reset_after=True)
    wrong_units.build((None, None, 3))
    with pytest.raises(textgru.InvalidArgumentError, match="shape"):
        from_torch_state_dict(wrong_units, state)


def test_matches_real_torch_gru_both_ways(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    units, x = 6, rng.normal(size=(2, 9, 4)).astype("float32")
    net = torch.nn.GRU(4, units, batch_first=True)
    ours = textgru.GRU(units, reset_after=True, return_sequences=True)
    from_torch_state_dict(ours, net.state_dict())
    with torch.no_grad():
        expected, _ = net(torch.from_numpy(x))
    np.testing.assert_allclose(np.asarray(ours(x)), expected.numpy(), atol=1e-5)

    _randomize(ours, rng)
    net.load_state_dict(
        {k: torch.from_numpy(v) for k, v in to_torch_state_dict(ours).items()}
    )
    with torch.no_grad():
        expected, _ = net(torch.from_numpy(x))
    np.testing.assert_allclose(np.asarray(ours(x)), expected.numpy(), atol=1e-5)
