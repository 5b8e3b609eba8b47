"""textgru.interpret: the gates of a trained GRU, token by token, checked against
the float64 NumPy reference of the equations and against the model's own
outputs."""

import keras
import numpy as np
import pytest

import textgru
from textgru.data import train_tokenizer
from textgru.interpret.gates import gate_activations, gru_layer_names
from textgru.models import build_classifier, build_language_model

from .layers.reference import gru_reference
from .layers.test_custom_cells import CELLS, cell_reference

TEXTS = ["not bad at all", "a dull and tired film", "but the ending is good"]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 3, kind="word")


def _reference(cell, x, go_backwards=False):
    """The reference on one text `x` (length, features): hidden in token order
    and the gates."""
    outputs, _, gates = gru_reference(
        x[None],
        cell.kernel.numpy(),
        cell.recurrent_kernel.numpy(),
        cell.bias.numpy(),
        reset_after=cell.reset_after,
        go_backwards=go_backwards,
        return_gates=True,
    )
    hidden = outputs[0][::-1] if go_backwards else outputs[0]
    return {"hidden": hidden, **{name: value[0] for name, value in gates.items()}}


def _assert_matches(acts, expected):
    for name in ("update", "reset", "candidate", "hidden"):
        np.testing.assert_allclose(acts.gate(name), expected[name], atol=1e-5)
        assert acts.gate(name).shape == expected[name].shape


@pytest.mark.layers
@pytest.mark.parametrize("reset_after", [False, True])
def test_gates_equal_the_equations_in_a_stack(tokenizer, reset_after):
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(tokenizer.vocab_size, 5, name="embedding"),
            textgru.GRU(4, return_sequences=True, reset_after=reset_after, name="g0"),
            keras.layers.Dropout(0.5),
            textgru.GRU(3, reset_after=reset_after, bias_initializer="uniform"),
        ]
    )
    text = TEXTS[1]
    ids = np.array(tokenizer.encode(text))
    embedded = model.get_layer("embedding").embeddings.numpy()[ids]
    first = _reference(model.layers[1].cell, embedded)
    second = _reference(model.layers[3].cell, first["hidden"])

    acts = gate_activations(model, text, tokenizer=tokenizer)
    assert acts.tokens == ["a", "dull", "and", "tired", "film"]
    assert acts.layer == "g0" and acts.direction == "forward"
    np.testing.assert_array_equal(acts.token_ids, ids)
    _assert_matches(acts, first)
    # The second layer, read through the first (dropout is off, as in inference).
    _assert_matches(gate_activations(model, text, tokenizer=tokenizer, layer=1), second)
    assert gru_layer_names(model) == ["g0", model.layers[3].name]
    # Gates are gates: sigmoid outputs in (0, 1).
    assert 0 < acts.update.min() and acts.update.max() < 1


@pytest.mark.layers
def test_bidirectional_halves_line_up_with_the_model_outputs(tokenizer):
    model = build_classifier(
        tokenizer.vocab_size, 3, embed_dim=6, units=4, num_layers=2
    )
    texts = TEXTS[:2]
    forward = gate_activations(model, texts, tokenizer=tokenizer, layer="bi_gru_0")
    backward = gate_activations(
        model, texts, tokenizer=tokenizer, layer=0, direction="backward"
    )
    assert [a.direction for a in backward] == ["backward", "backward"]
    embeddings = model.backbone.token_embedding.embeddings.numpy()
    bi = model.backbone.recurrent_layers[0]
    for text, fwd, bwd in zip(texts, forward, backward, strict=True):
        ids = np.array(tokenizer.encode(text))
        _assert_matches(fwd, _reference(bi.forward_layer.cell, embeddings[ids]))
        _assert_matches(
            bwd, _reference(bi.backward_layer.cell, embeddings[ids], go_backwards=True)
        )
        # Row t of the backward half has read the text from its end to token t,
        # exactly as Keras's Bidirectional aligns it.
        outputs = keras.ops.convert_to_numpy(bi(embeddings[ids][None]))[0]
        np.testing.assert_allclose(
            np.concatenate([fwd.hidden, bwd.hidden], -1), outputs, atol=1e-5
        )
    # The inner layer names work too, and the top layer reads the lower one.
    top = gate_activations(
        model,
        texts[0],
        tokenizer=tokenizer,
        layer="backward_gru_1",
        direction="backward",
    )
    assert top.layer == "backward_gru_1" and top.hidden.shape == (4, 4)


@pytest.mark.layers
def test_keras_gru_gives_the_same_gates_as_textgru(tokenizer):
    def model(gru):
        return keras.Sequential(
            [
                keras.Input((None,), dtype="int32"),
                keras.layers.Embedding(tokenizer.vocab_size, 5),
                gru,
            ]
        )

    theirs = model(keras.layers.GRU(4, reset_after=True))
    ours = model(textgru.GRU(4, reset_after=True))
    ours.set_weights(theirs.get_weights())
    a = gate_activations(theirs, TEXTS[0], tokenizer=tokenizer)
    b = gate_activations(ours, TEXTS[0], tokenizer=tokenizer)
    for name in ("update", "reset", "candidate", "hidden"):
        np.testing.assert_allclose(a.gate(name), b.gate(name), atol=1e-6)
    np.testing.assert_allclose(
        a.hidden[-1], theirs.predict(np.array([a.token_ids]), verbose=0)[0], atol=1e-5
    )


@pytest.mark.layers
def test_stateful_language_model_is_left_untouched(tokenizer):
    model = build_language_model(
        tokenizer.vocab_size,
        embed_dim=6,
        units=5,
        num_layers=2,
        stateful=True,
        batch_size=2,
    )
    model.predict(np.ones((2, 3), "int32"), verbose=0)  # gives the states a value
    before = [v.numpy().copy() for v in model.weights]
    top = model.backbone.recurrent_layers[1]
    states = [s.numpy().copy() for s in top.states]
    acts = gate_activations(model, TEXTS[2], tokenizer=tokenizer, layer=1, add_bos=True)
    assert acts.tokens[0] == "[BOS]" and acts.token_ids[0] == tokenizer.bos_id
    assert len(acts.tokens) == 6
    after = [v.numpy() for v in model.weights]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)
    for old, new in zip(states, top.states, strict=True):
        np.testing.assert_array_equal(old, new.numpy())


def test_bad_requests_are_one_line_errors(tokenizer):
    model = build_classifier(
        tokenizer.vocab_size, 2, embed_dim=4, units=3, bidirectional=False
    )
    cases = [
        (dict(model_or_run=model, texts="x"), "needs its tokenizer"),
        (dict(layer=3), "index one of the model's 1 GRU layers"),
        (dict(layer="embedding"), "name one of the model's GRU layers"),
        (dict(direction="backward"), "is not Bidirectional"),
        (dict(direction="up"), "forward or backward"),
        (dict(texts=[]), "at least one text"),
        (dict(texts=""), "at least one token"),
        (dict(model_or_run="no/such/run"), "No run directory"),
    ]
    for overrides, message in cases:
        kwargs = dict(model_or_run=model, texts="a text", tokenizer=tokenizer)
        if "model_or_run" in overrides and "tokenizer" not in overrides:
            kwargs.pop("tokenizer")
        kwargs.update(overrides)
        with pytest.raises(textgru.TextgruError, match=message) as error:
            gate_activations(**kwargs)
        assert "\n" not in str(error.value)
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(textgru.InvalidArgumentError, match="has no GRU layer"):
        gate_activations(dense, "a", tokenizer=tokenizer)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(tokenizer.vocab_size, 4)(ids)
    branch = keras.layers.Add()([x, keras.layers.Dense(4)(x)])
    graph = keras.Model(ids, textgru.GRU(3)(branch))
    with pytest.raises(textgru.InvalidArgumentError, match="chain of layers"):
        gate_activations(graph, "a text", tokenizer=tokenizer)


@pytest.mark.layers
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_your_own_cell_shows_its_own_gates(tokenizer, kind):
    """The gates of a subclass are its own equations' (before, a subclass in
    a model could be run as the stock GRU there and inspected as itself)."""
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(tokenizer.vocab_size, 3, name="embedding"),
            textgru.GRU(cell=CELLS[kind](), return_sequences=True),
        ]
    )
    gru = model.layers[1]
    if hasattr(gru.cell, "gamma"):
        gru.cell.gamma.assign(np.random.default_rng(2).uniform(0.5, 1.5, (2, 12)))
    ids = np.array(tokenizer.encode(TEXTS[1]))
    embedded = model.get_layer("embedding").embeddings.numpy()[ids]
    outputs, _, gates = cell_reference(gru.cell, embedded[None])
    acts = gate_activations(model, TEXTS[1], tokenizer=tokenizer)
    assert acts.cell == type(gru.cell).__name__
    np.testing.assert_allclose(acts.hidden, outputs[0], atol=1e-5)
    predicted = model.predict(ids[None], verbose=0)[0]
    np.testing.assert_allclose(acts.hidden, predicted, atol=1e-5)
    for name, value in gates.items():
        np.testing.assert_allclose(acts.gate(name), value[0], atol=1e-5)
    if kind == "mgu":  # one gate, f, shown as reset; no update gate
        assert acts.update is None and acts.gates == ("reset", "candidate", "hidden")
    figure = textgru.interpret.plots.gate_heatmap(acts, units=4)  # its first gate
    assert figure.axes[0].get_title(loc="left").endswith(f": {acts.gates[0]}")
