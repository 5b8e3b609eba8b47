"""Text generation from a GRU language model, one step per new token.

The trained model's layers are reused, with their weights, in a small step
model: one token and the GRU states in, next-token logits and the new states
out. The prompt is read once, token by token, and each new token costs one
step: the prefix is never run again.
"""

import weakref

import keras
import numpy as np

from textgru import _sampling
from textgru._sampling import sample_next  # noqa: F401 (its old home)
from textgru.errors import InvalidArgumentError
from textgru.models.language_model import GRULanguageModel

_STEP_MODELS = weakref.WeakKeyDictionary()


def step_model(model):
    """`(token (batch,), *states) -> (logits, *new_states)`, sharing the
    weights of a `GRULanguageModel` (built once per model)."""
    if model not in _STEP_MODELS:
        _STEP_MODELS[model] = _build_step_model(model)
    return _STEP_MODELS[model]


def _build_step_model(model):
    if not isinstance(model, GRULanguageModel):
        raise InvalidArgumentError(
            "Expected a language model made by build_language_model (a "
            f"GRULanguageModel). Received: {model.name!r} ({type(model).__name__})"
        )
    backbone = model.backbone
    token = keras.Input(shape=(), dtype="int32", name="token")
    states = [
        keras.Input(shape=(layer.cell.units,), name=f"state_{i}")
        for i, layer in enumerate(backbone.recurrent_layers)
    ]
    x = backbone.token_embedding(token)
    new_states = []
    for index, (layer, state) in enumerate(
        zip(backbone.recurrent_layers, states, strict=True)
    ):
        x = _CellStep(layer.cell, name=f"step_{index}")(x, state)
        new_states.append(x)
    logits = model.next_token_logits(x)
    return keras.Model([token, *states], [logits, *new_states], name="step")


class _CellStep(keras.layers.Layer):
    """One step of a trained GRU cell (its weights shared, not copied): the
    same code path the GRU layer runs at every time step."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def call(self, inputs, state):
        output, _ = self.cell(inputs, [state], training=False)
        return output


def compiled_step(step):
    """`step_model(...)` as a fast callable `(tokens, states) -> (logits, *states)`.

    On TensorFlow a concrete function with a fixed signature: it skips the
    per-call signature matching of `predict_on_batch`, which costs more than
    the step itself for one stream (about 1.5x more steps per second here).
    Elsewhere Keras's compiled `predict_on_batch`.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        specs = [tf.TensorSpec((None,), tf.int32)]
        specs += [tf.TensorSpec((None, s.shape[-1]), s.dtype) for s in step.inputs[1:]]
        call = tf.function(
            lambda token, *states: step([token, *states], training=False),
            input_signature=specs,
        ).get_concrete_function()
        return lambda tokens, states: call(tf.constant(tokens, tf.int32), *states)
    return lambda tokens, states: step.predict_on_batch([tokens, *states])


class _Stepper:
    """Feeds tokens through the step model, keeping the GRU states."""

    def __init__(self, model, batch):
        step = step_model(model)
        self.call = compiled_step(step)
        self.states = [
            np.zeros((batch, s.shape[-1]), dtype=s.dtype) for s in step.inputs[1:]
        ]

    def __call__(self, tokens):
        logits, *self.states = self.call(np.asarray(tokens, dtype="int32"), self.states)
        return np.asarray(logits, dtype=np.float64)


def generate(
    model,
    tokenizer,
    prompt="",
    *,
    max_new_tokens=200,
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    num_samples=1,
):
    """Continue `prompt` with text sampled from a language model.

    Args:
        model: a `GRULanguageModel` (from `textgru.models.build_language_model`).
        tokenizer: its `textgru.data.Tokenizer`.
        prompt: the text to continue; empty starts a new text at `[BOS]`.
        max_new_tokens: the most tokens to add (fewer if `[EOS]` comes).
        temperature: 0 for greedy decoding; higher is more random.
        top_k: sample only among the `top_k` most likely tokens.
        top_p: sample only among the most likely tokens whose probabilities
            add up to `top_p` (nucleus sampling), in (0, 1].
        seed: the same seed gives the same text.
        num_samples: how many continuations, generated together as a batch.

    Returns:
        The generated text after the prompt (a str), or a list of
        `num_samples` of them.

    Example:

    >>> tok = textgru.data.train_tokenizer(["abcabc"], kind="char")
    >>> lm = textgru.models.build_language_model(tok.vocab_size, units=8)
    >>> text = generate(lm, tok, "ab", max_new_tokens=5, seed=0)
    >>> text == generate(lm, tok, "ab", max_new_tokens=5, seed=0)
    True
    """
    return _sampling.continue_text(
        lambda batch: _Stepper(model, batch),
        tokenizer,
        prompt,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        num_samples=num_samples,
    )
