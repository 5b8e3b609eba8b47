"""Look inside a trained GRU: its update and reset gates and its states, token
by token.

    acts = gate_activations("runs/sentiment", ["not bad at all", "a dull film"])
    acts[0].tokens, acts[0].update.shape  # ['not', 'bad', 'at', 'all'], (4, 128)
    textgru.interpret.plots.gate_heatmap(acts)

The model's own layers and weights are used as they are (nothing is copied
into a new model, no state of a stateful model is touched): the layers before
the chosen GRU are called on each text with `training=False`, then the GRU's
cell steps through the text with its `gate_values`, the function every step
of `textgru.GRU` runs, so the values are those the model computes. Your own
cell (a `GRUCell` subclass) is shown with the gates it has.
"""

import dataclasses
import os

import keras
import numpy as np

from textgru.data import Preprocessor
from textgru.errors import InvalidArgumentError
from textgru.interpret.activations import DIRECTIONS, GATES, GateActivations
from textgru.layers import keras_gru_to_textgru
from textgru.layers.gru_cell import checked_gate_values
from textgru.models import GRUBackbone
from textgru.training import registry


def gate_activations(
    model_or_run,
    texts,
    *,
    tokenizer=None,
    layer=None,
    direction="forward",
    add_bos=None,
    max_length=None,
    preprocessor=None,
):
    """Per-token update and reset gates and states of a trained GRU.

    Args:
        model_or_run: a `ClassifierRun` or `LanguageModelRun`, a run
            directory, a model of `textgru.models` (its `GRUBackbone`'s
            GRUs), or a Keras model whose layers form a chain up to the GRU
            (`Sequential` models). The GRU may be a `textgru.GRU` or a
            `keras.layers.GRU`, on its own or in `Bidirectional`.
        texts: a text or a list of texts.
        tokenizer: the model's `textgru.data.Tokenizer` (taken from a run).
        preprocessor: how texts become ids, a `textgru.data.Preprocessor`
            (taken from a run; otherwise made of `tokenizer`, `max_length`
            and `add_bos`).
        layer: which GRU: an index among the model's GRU layers in order
            (`0`, the default, is the first) or a layer name.
        direction: for a `Bidirectional` GRU, `"forward"` or `"backward"`.
        add_bos: put `[BOS]` first, as language models are trained (default:
            `True` for a language-model run, `False` otherwise).
        max_length: cut texts to this many tokens (default: a classifier
            run's `max_length`, otherwise no limit).

    Returns:
        A `GateActivations` for a text, or a list of them for a list of texts.

    Example:

    >>> model = textgru.models.build_classifier(50, 2, embed_dim=8, units=4)
    >>> tok = textgru.data.train_tokenizer(["a good film", "a bad film"])
    >>> acts = gate_activations(model, "a good film", tokenizer=tok)
    >>> acts.tokens, acts.update.shape
    (['a', 'good', 'film'], (3, 4))
    """
    model, preprocessor = _resolve(
        model_or_run, tokenizer, add_bos, max_length, preprocessor
    )
    if direction not in DIRECTIONS:
        raise InvalidArgumentError(
            f"Expected `direction` to be forward or backward. Received: {direction!r}"
        )
    chain, target = _chain_to(model, layer)
    gru = _directional(target, direction)
    single = isinstance(texts, str)
    texts = [texts] if single else list(texts)
    if not texts:
        raise InvalidArgumentError("Expected at least one text. Received none")
    results = []
    for text in texts:
        ids, pieces = preprocessor.encode_pieces(text)
        if not ids:
            raise InvalidArgumentError(
                f"Expected a text with at least one token. Received: {text!r}"
            )
        x = np.asarray([ids], dtype="int32")
        for previous in chain:
            x = _apply(previous, x)
        steps = _run_gru(gru, x[0])
        results.append(
            GateActivations(
                text=text,
                tokens=pieces,
                token_ids=np.asarray(ids),
                layer=gru.name,
                direction="backward" if gru.go_backwards else "forward",
                cell=type(gru.cell).__name__,
                **steps,
            )
        )
    return results[0] if single else results


def gru_layer_names(model):
    """The names of the GRU layers `gate_activations(layer=...)` can inspect,
    in order (a `Bidirectional` wrapper by its own name)."""
    return [layer.name for layer in _layers(model) if _is_gru(layer)]


def gru_directions(model):
    """`(name, directions)` of each GRU layer `gate_activations` can
    inspect, in order: `("forward", "backward")` for a `Bidirectional` one,
    `("forward",)` otherwise."""
    return [
        (layer.name, DIRECTIONS if hasattr(layer, "forward_layer") else DIRECTIONS[:1])
        for layer in _layers(model)
        if _is_gru(layer)
    ]


def _layers(model):
    """The model's layers from its input, in order: a `textgru.models` model
    by its backbone's parts (the dropout between them is off in inference)."""
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, GRUBackbone):
        return [backbone.token_embedding, *backbone.recurrent_layers]
    return [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def _resolve(model_or_run, tokenizer, add_bos, max_length, preprocessor):
    """`(model, preprocessor)` from what `gate_activations` was given."""
    if isinstance(model_or_run, (str, os.PathLike)):
        model_or_run = registry.load(model_or_run)
    if not isinstance(model_or_run, keras.Model) and hasattr(
        model_or_run, "preprocessor"
    ):  # a run
        preprocessor = preprocessor or model_or_run.preprocessor
        model_or_run = model_or_run.model
    if not isinstance(model_or_run, keras.Model):
        raise InvalidArgumentError(
            "Expected a Keras model, a ClassifierRun or LanguageModelRun, or a run "
            f"directory. Received: {type(model_or_run).__name__}"
        )
    if preprocessor is None:
        if tokenizer is None:
            raise InvalidArgumentError(
                "A model needs its tokenizer: pass tokenizer=Tokenizer.load(...), "
                "or pass the run instead of the model"
            )
        preprocessor = Preprocessor(tokenizer, max_length, bool(add_bos))
    else:
        changes = {"max_length": max_length} if max_length is not None else {}
        if add_bos is not None:
            changes["add_bos"] = bool(add_bos)
        preprocessor = dataclasses.replace(preprocessor, add_eos=False, **changes)
    return model_or_run, preprocessor


def _is_gru(layer):
    """A `keras.layers.GRU`, or an RNN whose cell has `gate_values` (textgru's
    and your own), alone or in `Bidirectional`."""
    inner = getattr(layer, "forward_layer", layer)
    return isinstance(inner, keras.layers.GRU) or (
        isinstance(inner, keras.layers.RNN)
        and hasattr(getattr(inner, "cell", None), "gate_values")
    )


def _chain_to(model, layer):
    """The layers from the model's input to the chosen GRU (excluded), checked
    to form a chain, and the GRU (or its Bidirectional wrapper)."""
    layers = _layers(model)
    names = gru_layer_names(model)
    if not names:
        raise InvalidArgumentError(
            f"Model {model.name!r} has no GRU layer (textgru.GRU or keras.layers.GRU)"
        )
    if layer is None:
        layer = 0
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(names) <= layer < len(names):
            raise InvalidArgumentError(
                f"Expected `layer` to index one of the model's {len(names)} GRU "
                f"layers ({', '.join(names)}). Received: layer={layer}"
            )
        name = names[layer]
    else:
        inner = {
            part.name: outer.name
            for outer in layers
            if hasattr(outer, "forward_layer")
            for part in (outer.forward_layer, outer.backward_layer)
        }
        name = inner.get(layer, layer)
        if name not in names:
            raise InvalidArgumentError(
                f"Expected `layer` to name one of the model's GRU layers "
                f"({', '.join(names)}). Received: layer={layer!r}"
            )
    index = [lay.name for lay in layers].index(name)
    chain = layers[: index + 1]
    if isinstance(getattr(model, "backbone", None), GRUBackbone):
        return chain[:-1], chain[-1]  # the backbone's parts feed each other
    produced = model.inputs[0] if model.inputs else None
    for current in chain:
        consumed = (
            current.input[0] if isinstance(current.input, list) else current.input
        )
        if produced is None or consumed is not produced:
            raise InvalidArgumentError(
                f"gate_activations follows a chain of layers from the model's "
                f"input to the GRU, and {current.name!r} is not fed by the layer "
                "before it; build a Sequential model or pass a sub-model"
            )
        produced = current.output
    return chain[:-1], chain[-1]


def _directional(layer, direction):
    if hasattr(layer, "forward_layer"):
        return layer.forward_layer if direction == "forward" else layer.backward_layer
    if direction == "backward":
        raise InvalidArgumentError(
            f"{layer.name!r} is not Bidirectional; it has only the direction "
            "it reads in. Drop direction='backward'"
        )
    return layer


def _apply(layer, x):
    """One layer of the chain on one text `(1, length, ...)`, as in inference."""
    if _is_gru(layer):
        if hasattr(layer, "forward_layer"):
            forward = _run_gru(layer.forward_layer, x[0])["hidden"]
            backward = _run_gru(layer.backward_layer, x[0])["hidden"]
            return _merge(layer, forward, backward)[None]
        if not layer.return_sequences:
            raise InvalidArgumentError(
                f"{layer.name!r} returns only its last state, so no GRU can follow it"
            )
        hidden = _run_gru(layer, x[0])["hidden"]
        # A go_backwards GRU outputs its states in the order it read them.
        return (hidden[::-1] if layer.go_backwards else hidden)[None]
    return keras.ops.convert_to_numpy(layer(x, training=False))


def _merge(layer, forward, backward):
    merges = {
        "concat": lambda: np.concatenate([forward, backward], axis=-1),
        "sum": lambda: forward + backward,
        "ave": lambda: (forward + backward) / 2,
        "mul": lambda: forward * backward,
    }
    if layer.merge_mode not in merges:
        raise InvalidArgumentError(
            f"{layer.name!r} has merge_mode={layer.merge_mode!r}; only concat, "
            "sum, ave and mul can feed another layer here"
        )
    return merges[layer.merge_mode]()


def _run_gru(layer, x):
    """Steps the layer's cell through one text `x` `(length, features)` from a
    zero state; the rows come back in token order."""
    cell = _textgru_cell(layer)
    weights = cell.step_weights()
    order = np.arange(len(x))[::-1] if layer.go_backwards else np.arange(len(x))
    state = keras.ops.zeros((1, cell.units), dtype=cell.compute_dtype)
    rows = {gate: [None] * len(x) for gate in GATES}
    for t in order:
        values = checked_gate_values(cell, x[t : t + 1], state, weights)
        state = values.state
        for gate, value in zip(GATES, values, strict=True):
            if value is not None:
                rows[gate][t] = keras.ops.convert_to_numpy(value)[0]
    # A gate the cell does not have (None at every step) stays None.
    return {
        gate: None if row[order[0]] is None else np.stack(row)
        for gate, row in rows.items()
    }


def _textgru_cell(layer):
    """The layer's cell with `gate_values` (textgru's or your own); for a
    `keras.layers.GRU`, the cell of a textgru copy (same configuration and
    weights)."""
    if hasattr(layer.cell, "gate_values"):
        return layer.cell
    return keras_gru_to_textgru(layer).cell
