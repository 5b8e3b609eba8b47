"""Your own cell in textgru.GRU: a GRUCell subclass computes its own equations
on every path (never the stock GRU's fast loop), the `cell=` and `fast_path=`
arguments, and the two shipped example cells (MGUCell, LayerNormGRUCell)
against float64 NumPy references of their equations."""

import keras
import numpy as np
import pytest

import textgru
from tests.layers.harness import (
    assert_reloads_in_a_new_process,
    gradients,
    run_layer_test,
)
from tests.layers.reference import (
    layer_norm_gru_reference,
    mgu_reference,
    numerical_gradients,
    sigmoid,
)
from textgru.layers import GateValues, GRUCell, LayerNormGRUCell, MGUCell, recurrence

pytestmark = pytest.mark.layers
ON_TF = keras.backend.backend() == "tensorflow"
TF_ONLY = pytest.mark.skipif(not ON_TF, reason="fixed-versus-unknown lengths are TF's")
FAST = pytest.mark.skipif(
    keras.backend.backend() not in recurrence.BACKENDS,
    reason="the fast loop runs on TensorFlow and JAX",
)


@keras.saving.register_keras_serializable(package="textgru_tests")
class SwappedGRUCell(GRUCell):
    """A GRUCell subclass whose state update differs from the stock GRU's:
    h' = (1 - z) h + z h~ (the gate's roles swapped)."""

    def gate_values(self, inputs, h_tm1, weights, training=False):
        stock = super().gate_values(inputs, h_tm1, weights, training)
        z, candidate = stock.update, stock.candidate
        state = h_tm1 + z * (candidate - h_tm1)
        return stock._replace(state=state)


def swapped_reference(x, kernel, recurrent_kernel, bias, h0=None, mask=None):
    x = np.asarray(x, np.float64)
    W, U, b = (np.asarray(a, np.float64) for a in (kernel, recurrent_kernel, bias))
    batch, steps, _ = x.shape
    u = U.shape[0]
    h = np.zeros((batch, u)) if h0 is None else np.asarray(h0, np.float64)
    mask = np.ones((batch, steps), bool) if mask is None else mask
    outputs, update = [], []
    for t in range(steps):
        a = x[:, t] @ W + b
        z = sigmoid(a[:, :u] + h @ U[:, :u])
        r = sigmoid(a[:, u : 2 * u] + h @ U[:, u : 2 * u])
        candidate = np.tanh(a[:, 2 * u :] + (r * h) @ U[:, 2 * u :])
        h = np.where(mask[:, t : t + 1], (1 - z) * h + z * candidate, h)
        outputs.append(h)
        update.append(z)
    return np.stack(outputs, 1), h, {"update": np.stack(update, 1)}


def cell_reference(cell, x, *weights, **kwargs):
    """(outputs, state, gates) of `cell`'s own equations, in float64, with
    the cell's weights or the given ones (in `cell.weights` order)."""
    weights = weights or [keras.ops.convert_to_numpy(w) for w in cell.weights]
    if isinstance(cell, SwappedGRUCell):
        return swapped_reference(x, *weights, **kwargs)
    if isinstance(cell, MGUCell):
        return mgu_reference(x, *weights, **kwargs)
    kernel, recurrent_kernel, beta, gamma = weights
    return layer_norm_gru_reference(
        x,
        kernel,
        recurrent_kernel,
        gamma,
        beta,
        reset_after=cell.reset_after,
        epsilon=cell.epsilon,
        **kwargs,
    )


CELLS = {
    "swapped": lambda **kw: SwappedGRUCell(4, bias_initializer="uniform", **kw),
    "mgu": lambda **kw: MGUCell(4, bias_initializer="uniform", **kw),
    "layer_norm": lambda **kw: LayerNormGRUCell(4, bias_initializer="uniform", **kw),
    "layer_norm_after": lambda **kw: LayerNormGRUCell(
        4, reset_after=True, bias_initializer="uniform", **kw
    ),
}
EACH_CELL = pytest.mark.parametrize("kind", sorted(CELLS))


def _layer(kind, **kwargs):
    """A built GRU over the cell, with random gains for the LN cell."""
    layer = textgru.GRU(cell=CELLS[kind](), **kwargs)
    layer.build((None, None, 3))
    if hasattr(layer.cell, "gamma"):
        layer.cell.gamma.assign(np.random.default_rng(5).uniform(0.5, 1.5, (2, 12)))
    return layer


# --- a subclass gives its own numbers on every path ----------------------------


@EACH_CELL
def test_eager_and_predict_follow_the_cells_own_equations(kind, rng, fast_calls):
    layer = _layer(kind, return_sequences=True, return_state=True)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    h0 = rng.normal(0, 0.5, size=(3, 4)).astype("float32")
    mask = np.arange(6)[None] < np.array([[6], [2], [4]])
    expected, expected_state, _ = cell_reference(layer.cell, x, h0=h0, mask=mask)
    outputs, state = layer(x, initial_state=h0, mask=mask)
    np.testing.assert_allclose(np.asarray(outputs), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), expected_state, atol=1e-5)
    model = keras.Sequential([keras.Input((6, 3)), _layer(kind, return_sequences=True)])
    model.layers[0].set_weights(layer.get_weights())
    np.testing.assert_allclose(
        model.predict(x, verbose=0), cell_reference(layer.cell, x)[0], atol=1e-5
    )
    assert not fast_calls  # the stock GRU's loop never ran this cell


@TF_ONLY
@EACH_CELL
def test_a_length_known_only_at_run_time_gives_the_same_numbers(kind, rng):
    import tensorflow as tf

    layer = _layer(kind, return_sequences=True)
    traced = tf.function(layer, input_signature=[tf.TensorSpec((None, None, 3))])
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    expected = cell_reference(layer.cell, x)[0]
    np.testing.assert_allclose(np.asarray(traced(x)), expected, atol=1e-5)


@EACH_CELL
def test_gradients_match_the_reference(kind, rng):
    layer = _layer(kind, return_sequences=True)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    # Small weights keep the gradients near 1, where float32 holds 1e-4.
    w = rng.normal(0, 0.25, size=(2, 5, 4))
    got = gradients(layer, x, lambda y: keras.ops.sum(y * w.astype("float32")))
    weights = [keras.ops.convert_to_numpy(v) for v in layer.cell.weights]

    def loss(x, *weights):
        return float((cell_reference(layer.cell, x, *weights)[0] * w).sum())

    expected = numerical_gradients(loss, [x, *weights])
    names = ["inputs", *(v.path for v in layer.cell.weights)]
    assert len(got) == len(expected)
    for name, g, e in zip(names, got, expected, strict=True):
        assert np.abs(e).max() > 1e-3, name
        np.testing.assert_allclose(g, e, atol=1e-4, err_msg=name)


@EACH_CELL
def test_one_fit_step_moves_the_weights_by_the_references_gradient(kind, rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    w = rng.normal(size=(2, 5, 4)).astype("float32")
    model = keras.Sequential([keras.Input((5, 3)), _layer(kind, return_sequences=True)])
    before = [np.asarray(v, np.float64) for v in model.get_weights()]

    def weighted_sum(target, output):
        return keras.ops.sum(target * output, axis=(1, 2))

    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=weighted_sum)
    model.fit(x, w, batch_size=2, epochs=1, verbose=0, shuffle=False)
    cell = model.layers[0].cell

    def loss(*weights):
        outputs = cell_reference(cell, x, *weights)[0]
        return float((outputs * w).sum(axis=(1, 2)).mean())

    grads = numerical_gradients(loss, before)
    for old, new, grad in zip(before, model.get_weights(), grads, strict=True):
        np.testing.assert_allclose(new, old - 0.1 * grad, atol=2e-5)


@EACH_CELL
def test_left_and_right_padding_give_the_same_states(kind, rng):
    layer = _layer(kind, return_state=True)
    right = np.zeros((3, 6, 3), "float32")
    left = np.zeros((3, 6, 3), "float32")
    for i, n in enumerate((6, 2, 4)):
        tokens = rng.normal(size=(n, 3))
        right[i, :n], left[i, 6 - n :] = tokens, tokens
    _, right_state = layer(right, mask=np.any(right != 0, -1))
    _, left_state = layer(left, mask=np.any(left != 0, -1))
    np.testing.assert_allclose(np.asarray(right_state), np.asarray(left_state), 1e-6)


@EACH_CELL
def test_go_backwards_stateful_bidirectional_and_stacking(kind, rng):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    forward = _layer(kind, return_sequences=True)
    backward = _layer(kind, return_sequences=True, go_backwards=True)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(
        np.asarray(backward(x)), np.asarray(forward(x[:, ::-1])), atol=1e-6
    )
    stateful = textgru.GRU(cell=CELLS[kind](), stateful=True)
    stateful.build((2, None, 3))
    stateful.set_weights(forward.get_weights())
    stateful(x[:, :3])
    np.testing.assert_allclose(
        np.asarray(stateful(x[:, 3:])), np.asarray(forward(x))[:, -1], atol=1e-6
    )
    stateful.reset_state()
    np.testing.assert_allclose(
        np.asarray(stateful(x[:, :3])), np.asarray(forward(x[:, :3]))[:, -1], 1e-6
    )
    both = keras.layers.Bidirectional(textgru.GRU(cell=CELLS[kind]()))
    assert both(x).shape == (2, 8)
    assert type(both.backward_layer.cell) is type(both.forward_layer.cell)
    both.forward_layer.set_weights(forward.get_weights())
    np.testing.assert_allclose(
        np.asarray(both(x))[:, :4], np.asarray(forward(x))[:, -1], atol=1e-6
    )
    stacked = keras.Sequential(
        [
            keras.Input((6, 3)),
            textgru.GRU(cell=CELLS[kind](), return_sequences=True),
            textgru.GRU(cell=CELLS[kind]()),
        ]
    )
    assert stacked(x).shape == (2, 4)


@EACH_CELL
def test_layer_harness_with_the_cell(kind, rng, tmp_path):
    cell = CELLS[kind]()
    expected = 4 if isinstance(cell, LayerNormGRUCell) else 3
    run_layer_test(
        lambda: textgru.GRU(cell=CELLS[kind](), return_sequences=True),
        rng.normal(size=(3, 6, 3)).astype("float32"),
        expected_output_shape=(3, 6, 4),
        expected_num_weights=expected,
        tmp_path=tmp_path,
    )


@EACH_CELL
def test_recurrent_dropout_works_without_code_in_the_cell(kind, rng):
    layer = textgru.GRU(cell=CELLS[kind](recurrent_dropout=0.5, dropout=0.3, seed=1))
    x = rng.normal(size=(4, 5, 3)).astype("float32")
    infer = np.asarray(layer(x))
    np.testing.assert_array_equal(infer, np.asarray(layer(x, training=False)))
    train = np.asarray(layer(x, training=True))
    assert np.isfinite(train).all() and not np.allclose(train, infer)


def test_saved_model_with_custom_cells_reloads_in_a_new_process(tmp_path, rng):
    ids = rng.integers(1, 30, size=(3, 7))
    ids[1, 4:] = 0
    model = keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            keras.layers.Embedding(30, 5, mask_zero=True),
            keras.layers.Bidirectional(
                textgru.GRU(cell=MGUCell(4), return_sequences=True)
            ),
            textgru.GRU(cell=LayerNormGRUCell(3, reset_after=True, epsilon=1e-3)),
        ]
    )
    checks = """
        cells = [type(layer.cell).__name__ for layer in model.layers[2:]]
        assert cells == ["LayerNormGRUCell"], cells
        assert model.layers[2].cell.epsilon == 1e-3
        assert type(model.layers[1].backward_layer.cell).__name__ == "MGUCell"
    """
    assert_reloads_in_a_new_process(model, ids, tmp_path, checks)


# --- the fast path: only for the stock equations -------------------------------


@FAST
def test_fast_path_true_refuses_a_subclass_in_one_line():
    with pytest.raises(textgru.InvalidArgumentError, match="SwappedGRUCell") as info:
        textgru.GRU(cell=SwappedGRUCell(4), fast_path=True)
    assert "fast_path='auto'" in str(info.value) and "\n" not in str(info.value)


@FAST
def test_a_subclass_that_opts_in_takes_the_fast_path(rng, fast_calls):
    @keras.saving.register_keras_serializable(package="textgru_tests")
    class SameMaths(GRUCell):
        computes_stock_gru = True

    @keras.saving.register_keras_serializable(package="textgru_tests")
    class Child(SameMaths):
        pass

    x = rng.normal(size=(2, 5, 3)).astype("float32")
    stock = textgru.GRU(4)
    stock(x)
    opted = textgru.GRU(cell=SameMaths(4), fast_path=True)
    opted(x)
    opted.set_weights(stock.get_weights())
    np.testing.assert_allclose(np.asarray(opted(x)), np.asarray(stock(x)), 1e-6)
    assert fast_calls
    assert not Child.computes_stock_gru  # not inherited: each class says so
    fast_calls.clear()
    textgru.GRU(cell=Child(4))(x)
    assert not fast_calls


@FAST
def test_a_stock_cell_with_its_maths_replaced_takes_the_plain_loop(
    rng, fast_calls, fast_everywhere
):
    cell = GRUCell(4)
    stock = cell.gate_values
    cell.gate_values = lambda *a, **k: stock(*a, **k)._replace(state=a[1] * 0.0)
    layer = textgru.GRU(cell=cell)
    assert np.allclose(np.asarray(layer(rng.normal(size=(2, 5, 3)))), 0.0)
    assert not fast_calls


@FAST
@pytest.mark.parametrize(
    "fast_path, taken",
    [
        ("auto", keras.backend.backend() in recurrence.AUTO_BACKENDS),
        (True, True),
        (False, False),
    ],
)
def test_fast_path_switch(fast_path, taken, rng, fast_calls):
    """ "auto" takes the fast loop where it measures faster (TensorFlow),
    True on every backend that has one."""
    layer = textgru.GRU(4, fast_path=fast_path)
    layer(rng.normal(size=(2, 5, 3)).astype("float32"))
    assert bool(fast_calls) == taken
    assert textgru.GRU.from_config(layer.get_config()).fast_path == fast_path


@TF_ONLY
def test_fast_path_true_runs_a_length_known_only_at_run_time(rng, fast_calls):
    import tensorflow as tf

    layer = textgru.GRU(4, fast_path=True)
    layer.build((None, None, 3))
    traced = tf.function(layer, input_signature=[tf.TensorSpec((None, None, 3))])
    assert traced(rng.normal(size=(2, 5, 3)).astype("float32")).shape == (2, 4)
    assert fast_calls


def test_fast_path_true_on_another_backend_says_why(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(
        textgru.InvalidArgumentError, match="TensorFlow and JAX backends only"
    ):
        textgru.GRU(4, fast_path=True)


# --- textgru.GRU(cell=...) -------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"units": 8, "cell": MGUCell(4)}, "units=8"),
        ({"cell": MGUCell(4), "reset_after": False}, "reset_after=False"),
        ({"cell": MGUCell(4), "dropout": 0.2}, "dropout=0.2"),
        ({}, "units=None, cell=None"),
        ({"cell": keras.layers.Dense(3)}, "lacks"),
        ({"units": 4, "fast_path": "yes"}, "fast_path='yes'"),
    ],
)
def test_bad_cell_arguments_are_one_line_errors(kwargs, fragment):
    with pytest.raises(textgru.InvalidArgumentError) as info:
        textgru.GRU(**kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_units_and_cell_arguments_come_from_the_cell():
    layer = textgru.GRU(cell=MGUCell(6, recurrent_dropout=0.25), return_sequences=True)
    assert (layer.units, layer.recurrent_dropout, layer.reset_after) == (6, 0.25, False)
    config = layer.get_config()
    assert config["cell"]["class_name"] == "MGUCell"
    assert "units" not in config
    clone = textgru.GRU.from_config(config)
    assert type(clone.cell) is MGUCell and clone.get_config() == config
    with pytest.raises(textgru.InvalidArgumentError, match="one form"):
        MGUCell(4, reset_after=True)


@keras.saving.register_keras_serializable(package="textgru_tests")
class LeakyCell(keras.layers.Layer):
    """Not a GRUCell: a cell that only keeps its contract.
    h' = h + a (tanh(W x + U h) - h), with a fixed rate a; no gates."""

    def __init__(self, units, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.rate = units, rate
        self.state_size = self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units))

    def step_weights(self):
        return {"kernel": self.kernel, "recurrent_kernel": self.recurrent_kernel}

    def gate_values(self, inputs, h_tm1, weights, training=False):
        candidate = keras.ops.tanh(
            inputs @ weights["kernel"] + h_tm1 @ weights["recurrent_kernel"]
        )
        state = h_tm1 + self.rate * (candidate - h_tm1)
        return GateValues(None, None, candidate, state)

    def call(self, inputs, states, training=False):
        h = self.gate_values(inputs, states[0], self.step_weights()).state
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate}


def test_any_cell_that_keeps_the_contract_runs(rng):
    layer = textgru.GRU(cell=LeakyCell(3), return_sequences=True)
    x = rng.normal(size=(2, 4, 2)).astype("float32")
    out = np.asarray(layer(x))
    W, U = (np.asarray(w, np.float64) for w in layer.cell.weights)
    h = np.zeros((2, 3))
    for t in range(4):
        h = h + 0.5 * (np.tanh(x[:, t] @ W + h @ U) - h)
        np.testing.assert_allclose(out[:, t], h, atol=1e-5)
    clone = textgru.GRU.from_config(layer.get_config())
    assert type(clone.cell) is LeakyCell


def test_the_docs_cell_example_runs_with_and_without_bias():
    """docs/layer.md's TiedGRUCell, run as written there (it crashed with
    use_bias=False)."""
    import re
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "layer.md").read_text()
    head = "import keras\nimport textgru\nfrom textgru.layers import GateValues\n"
    block = re.search("```python\n" + re.escape(head) + "(.*?)```", docs, re.S)
    namespace = {}
    exec(head + block.group(1).replace('"mycells"', '"docs_example"'), namespace)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    for use_bias in (True, False):
        layer = textgru.GRU(cell=namespace["TiedGRUCell"](5, use_bias=use_bias))
        assert tuple(layer(x).shape) == (2, 5)
        assert (layer.cell.bias is None) is not use_bias


@keras.saving.register_keras_serializable(package="textgru_tests")
class OneFormCell(GRUCell):
    """Its own step, in the textbook form only (it never reads reset_after)."""

    def gate_values(self, inputs, h_tm1, weights, training=False):
        u = self.units
        x = inputs @ weights["kernel"][:, 2 * u :]
        h = self.recurrent_input(h_tm1, training)
        candidate = self.activation(x + h @ self.recurrent_kernel[:, 2 * u :])
        return GateValues(update=None, reset=None, candidate=candidate, state=candidate)


def test_reset_after_on_a_cell_that_ignores_it_is_refused():
    """A cell made with reset_after=True that ignores it was accepted and
    recorded silently; one that hands its step to GRUCell's is not refused."""
    with pytest.raises(textgru.InvalidArgumentError, match="never reads reset_after"):
        textgru.GRU(cell=OneFormCell(4, reset_after=True))
    textgru.GRU(cell=OneFormCell(4))  # its own form
    assert textgru.GRU(cell=SwappedGRUCell(4, reset_after=True)).cell.reset_after
