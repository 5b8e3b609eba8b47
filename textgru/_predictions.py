"""From a classifier's outputs to what `predict` returns, one way for every
engine: a run's Keras model and an export's ONNX graph (`textgru.deploy`),
which must answer alike. Only NumPy: an export predicts without Keras."""

import numbers

import numpy as np

from textgru.errors import InvalidArgumentError, RunIntegrityError


def outputs(engine, preprocessor, texts, batch_size):
    """The model's outputs `(len(texts), outputs)` (float64) for `texts`.

    `engine` maps a padded int32 id batch to the model's outputs. Texts go
    through `preprocessor` (`textgru.data.Preprocessor`) batched by length,
    `batch_size` at a time (so little of a batch is padding), and come back
    in the texts' order. Outputs that are NaN or infinite are a
    `RunIntegrityError`."""
    texts = list(texts)
    if not texts:
        raise InvalidArgumentError(
            "Expected at least one text to predict. Received none"
        )
    result = None
    for positions, batch in preprocessor.batches_by_length(texts, batch_size):
        output = np.asarray(engine(batch))
        if result is None:
            result = np.empty((len(texts), output.shape[1]), np.float64)
        result[positions] = output
    if not np.isfinite(result).all():
        raise RunIntegrityError(
            "The model gives NaN or infinite outputs: its weights are broken "
            "(a training run that diverged?); train it again"
        )
    return result


def probabilities(engine, preprocessor, texts, batch_size):
    """Class probabilities `(len(texts), classes)` (float64) of `texts`: the
    `outputs` of a classifier, a binary model's single sigmoid output p
    made the two columns (1 - p, p)."""
    result = outputs(engine, preprocessor, texts, batch_size)
    if result.shape[1] == 1:
        result = np.concatenate([1.0 - result, result], axis=1)
    return result


def calibrated(probabilities, temperature=None):
    """`probabilities` `(texts, classes)` with the model's logits divided by
    `temperature` (temperature scaling, Guo et al. 2017; None or 1: as they
    are). A binary model's logit is that of its second column; a softmax
    model's, the log of each column (softmax is unchanged by a shift)."""
    if temperature is None or temperature == 1.0:
        return probabilities
    p = np.asarray(probabilities, np.float64)
    with np.errstate(divide="ignore", over="ignore"):
        if p.shape[1] == 2:
            p = np.maximum(p, np.finfo(np.float64).tiny)
            logit = np.log(p[:, 1]) - np.log(p[:, 0])
            positive = 1.0 / (1.0 + np.exp(-logit / temperature))
            return np.stack([1.0 - positive, positive], axis=1)
        logits = np.log(p) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def check_temperature(value, where="temperature"):
    """A calibration temperature: a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 < value < float("inf")
    ):
        raise InvalidArgumentError(
            f"Expected `{where}` to be a finite number > 0. Received: {where}={value!r}"
        )
    return float(value)


def check_threshold(value, where="threshold"):
    """A binary classifier's decision threshold: a number strictly between
    0 and 1 (on the second label's probability)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 < value < 1.0
    ):
        raise InvalidArgumentError(
            f"Expected `{where}` to be a number between 0 and 1 (exclusive). "
            f"Received: {where}={value!r}"
        )
    return float(value)


def decide(probabilities, threshold=None):
    """The class id of each row of `probabilities` `(texts, classes)`: the
    most probable class, or of a binary model with a decision `threshold`,
    class 1 where its probability is at least `threshold`."""
    probabilities = np.asarray(probabilities)
    if threshold is None:
        return probabilities.argmax(axis=1)
    return (probabilities[:, 1] >= threshold).astype(np.int64)


def labelled(texts, probabilities, label_names, threshold=None, top_k=None):
    """One dict per text: the `text`, its `label` (by `decide`), that
    label's `probability`, and all `probabilities` by label name; with
    `top_k`, also the `top` k labels (`[label, probability]`, likeliest
    first)."""
    results = []
    chosen = decide(probabilities, threshold)
    for text, row, best in zip(texts, probabilities, chosen, strict=True):
        result = {
            "text": text,
            "label": label_names[best],
            "probability": float(row[best]),
            "probabilities": dict(zip(label_names, map(float, row), strict=True)),
        }
        results.append(_with_top(result, row, label_names, top_k))
    return results


def check_top_k(value):
    """A `top_k`: None, or a whole number >= 1."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
    ):
        raise InvalidArgumentError(
            f"Expected `top_k` to be a whole number >= 1. Received: top_k={value!r}"
        )
    return value


def _with_top(result, row, label_names, top_k):
    """`result` with the `top_k` likeliest labels of `row`, if asked."""
    if check_top_k(top_k) is not None:
        order = np.argsort(-np.asarray(row), kind="stable")[:top_k]
        result["top"] = [[label_names[i], float(row[i])] for i in order]
    return result


def decide_labels(probabilities, thresholds):
    """Of a multi-label classifier: which labels each text has, a bool
    `(texts, labels)` array, True where a label's probability is at least
    its threshold (`thresholds`, one per label)."""
    return np.asarray(probabilities) >= np.asarray(thresholds)[None, :]


def label_sets(texts, probabilities, label_names, thresholds, top_k=None):
    """One dict per text of a multi-label classifier: the `text`, its
    `labels` (those at or above their thresholds, likeliest first) and all
    `probabilities` by label name; with `top_k`, also the `top` k labels
    (`[label, probability]`, likeliest first, thresholds aside)."""
    results = []
    decided = decide_labels(probabilities, thresholds)
    for text, row, chosen in zip(texts, probabilities, decided, strict=True):
        order = np.argsort(-np.asarray(row), kind="stable")
        result = {
            "text": text,
            "labels": [label_names[i] for i in order if chosen[i]],
            "probabilities": dict(zip(label_names, map(float, row), strict=True)),
        }
        results.append(_with_top(result, row, label_names, top_k))
    return results
