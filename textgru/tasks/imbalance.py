"""Imbalanced classes: class weights in the loss, and the decision threshold
of a binary classifier tuned on the validation split.

A classifier fit on 87% ham and 13% spam learns to say "ham" when unsure;
two standard remedies, both recorded in the run:

- `class_weight`: each training text's loss weighted by its class
  ("balanced": `n / (classes * count)`, as scikit-learn's
  `compute_class_weight`; or a weight per label name);
- a decision threshold on the second label's probability other than 0.5:
  given (`threshold`), or the one that scores best on the validation split
  for a metric (`threshold_metric`), then used by `predict`, `evaluate`
  and exports.

Only NumPy: the run's metrics and tests use these without a backend.
"""

import json
import math
import numbers

import numpy as np

from textgru.errors import DatasetError, InvalidArgumentError

CLASS_WEIGHTS = ("none", "balanced")
THRESHOLD_METRICS = ("f1", "macro_f1", "balanced_accuracy", "accuracy")


def check_class_weight(value):
    """`class_weight` as given (a config field or `--class-weight`): "none",
    "balanced", or a label -> positive weight mapping (a dict, or its JSON
    text); returns the name or the dict."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise InvalidArgumentError(
                f"Expected `class_weight` to be none, balanced or a JSON object of "
                f"label -> weight. Received: class_weight={value!r} ({error})"
            ) from None
    if isinstance(value, str):
        if value not in CLASS_WEIGHTS:
            raise InvalidArgumentError(
                "Expected `class_weight` to be none, balanced or a JSON object of "
                "label -> weight such as '{\"spam\": 4}'. Received: "
                f"class_weight={value!r}"
            )
        return value
    if not isinstance(value, dict) or not value:
        raise InvalidArgumentError(
            "Expected `class_weight` to be none, balanced or a non-empty mapping of "
            f"label -> weight. Received: class_weight={value!r}"
        )
    for label, weight in value.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not 0 < weight < math.inf
        ):
            raise InvalidArgumentError(
                f"Expected each class weight to be a finite number > 0. Received: "
                f"class_weight[{label!r}]={weight!r}"
            )
    return {str(label): float(weight) for label, weight in value.items()}


def class_weights(spec, label_names, labels):
    """The loss weight of each class (by class id) that `spec` (a checked
    `class_weight`) gives, for training labels `labels` (class ids); None
    for "none". Labels a mapping leaves out weigh 1; a label it names that
    the data does not have is a `DatasetError`."""
    if spec == "none":
        return None
    if spec == "balanced":
        counts = np.bincount(np.asarray(labels, np.int64), minlength=len(label_names))
        missing = [n for n, c in zip(label_names, counts, strict=True) if not c]
        if missing:
            raise DatasetError(
                f"class_weight=balanced: no training text has the label "
                f"{', '.join(map(str, missing))}"
            )
        return counts.sum() / (len(label_names) * counts.astype(np.float64))
    names = [str(name) for name in label_names]
    unknown = sorted(set(spec) - set(names))
    if unknown:
        raise DatasetError(
            f"class_weight names the label(s) {', '.join(unknown)}, which the "
            f"dataset does not have (labels: {', '.join(names)})"
        )
    return np.array([spec.get(name, 1.0) for name in names], np.float64)


def binary_score(metric, labels, predicted):
    """`metric` (one of `THRESHOLD_METRICS`) of binary predictions against
    labels (class ids 0/1); F1 is that of class 1, the second label."""
    labels = np.asarray(labels, bool)
    predicted = np.asarray(predicted, bool)
    counts = [np.sum(labels & predicted), np.sum(~labels & predicted)]
    counts += [np.sum(labels & ~predicted), np.sum(~labels & ~predicted)]
    return float(_scores(metric, *(np.float64(c) for c in counts)))


def _scores(metric, tp, fp, fn, tn):
    """`metric` from the counts of true/false positives/negatives (arrays)."""

    def ratio(a, b):
        return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)

    if metric == "f1":
        return ratio(2 * tp, 2 * tp + fp + fn)
    if metric == "macro_f1":
        return (ratio(2 * tp, 2 * tp + fp + fn) + ratio(2 * tn, 2 * tn + fn + fp)) / 2
    if metric == "balanced_accuracy":
        return (ratio(tp, tp + fn) + ratio(tn, tn + fp)) / 2
    if metric == "accuracy":
        return ratio(tp + tn, tp + fp + fn + tn)
    raise InvalidArgumentError(
        f"Expected `threshold_metric` to be one of {', '.join(THRESHOLD_METRICS)}. "
        f"Received: threshold_metric={metric!r}"
    )


def tune_threshold(labels, positive, metric):
    """The threshold on the second label's probabilities `positive` that
    scores best for `metric` on labels `labels` (class ids 0/1), and that
    score: `(threshold, score)`.

    Every cut between two neighbouring distinct probabilities is tried, at
    their midpoint (so the threshold separates the same texts on data a
    little different), and 0.5; among equal scores, the one nearest 0.5
    wins. Thresholds stay inside [0.01, 0.99]. A text is predicted as the
    second label when its probability is at least the threshold."""
    labels = np.asarray(labels, bool)
    positive = np.asarray(positive, np.float64)
    values = np.unique(positive)
    cuts = np.concatenate([[0.5], (values[:-1] + values[1:]) / 2])
    cuts = np.unique(np.clip(cuts, 0.01, 0.99))
    ones, zeros = np.sort(positive[labels]), np.sort(positive[~labels])
    tp = len(ones) - np.searchsorted(ones, cuts, "left").astype(np.float64)
    fp = len(zeros) - np.searchsorted(zeros, cuts, "left").astype(np.float64)
    scores = _scores(metric, tp, fp, len(ones) - tp, len(zeros) - fp)
    best = scores.max()
    tied = cuts[scores >= best - 1e-12]
    threshold = float(tied[np.argmin(np.abs(tied - 0.5))])
    return threshold, float(best)
