"""Sampling a continuation, token by token, from any engine that gives the
next-token logits: a language model's Keras step model
(`textgru.models.generation`) or an export's ONNX step graph
(`textgru.deploy`), which must write the same text for the same seed. Only
NumPy: an export generates without Keras."""

import math

import numpy as np

from textgru import _validation
from textgru.errors import InvalidArgumentError


def sample_next(logits, rng, *, temperature=1.0, top_k=None, top_p=None):
    """One token id per row of `logits` `(batch, vocab)`.

    Greedy (argmax) when `temperature` is 0; otherwise softmax(logits /
    temperature), cut to the `top_k` most likely tokens and to the smallest
    set whose probability reaches `top_p`, renormalized, sampled with `rng`.
    """
    if temperature == 0:
        return logits.argmax(axis=-1)
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    probs = np.exp(scaled)
    if top_k is not None and top_k < probs.shape[-1]:
        kth = np.partition(probs, -top_k, axis=-1)[:, -top_k][:, None]
        probs = np.where(probs >= kth, probs, 0.0)
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
        keep_sorted = before < top_p  # the smallest prefix that reaches top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        probs = np.where(keep, probs, 0.0)
        probs /= probs.sum(axis=-1, keepdims=True)
    cumulative = np.cumsum(probs, axis=-1)
    draws = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
    return np.minimum((cumulative <= draws).sum(axis=-1), probs.shape[-1] - 1)


def continue_text(
    start,
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
    """`textgru.models.generate`'s loop (its arguments, checked, and its
    result) over `start(batch)`: a function that maps a batch of token ids
    `(batch,)` to next-token logits `(batch, vocab)`, keeping the states of
    `batch` streams from one call to the next."""
    max_new_tokens = _validation.positive_int("max_new_tokens", max_new_tokens)
    num_samples = _validation.positive_int("num_samples", num_samples)
    if (
        not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise InvalidArgumentError(
            f"Expected `temperature` >= 0. Received: temperature={temperature!r}"
        )
    if top_k is not None:
        top_k = _validation.positive_int("top_k", top_k)
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise InvalidArgumentError(
            f"Expected `top_p` in (0, 1]. Received: top_p={top_p!r}"
        )
    ids = tokenizer.encode(prompt) if prompt else []
    if not ids:
        if tokenizer.bos_id is None:
            raise InvalidArgumentError(
                "The prompt is empty and the tokenizer has no [BOS] token to start "
                "from; give a prompt"
            )
        ids = [tokenizer.bos_id]
    if seed is not None:
        _validation.seed("seed", seed)
    rng = np.random.default_rng(seed)
    step = start(num_samples)
    for token in ids:
        logits = step(np.full(num_samples, token))
    eos = tokenizer.eos_id
    generated = np.zeros((num_samples, max_new_tokens), dtype=np.int64)
    done = np.zeros(num_samples, dtype=bool)
    length = 0
    for position in range(max_new_tokens):
        tokens = sample_next(
            logits, rng, temperature=temperature, top_k=top_k, top_p=top_p
        )
        generated[:, position] = tokens
        length = position + 1
        done |= tokens == eos
        if done.all() or position == max_new_tokens - 1:
            break
        logits = step(tokens)
    texts = []
    for row in generated[:, :length]:
        if eos is not None and eos in row:
            row = row[: list(row).index(eos)]
        texts.append(tokenizer.decode(row))
    return texts[0] if num_samples == 1 else texts
