"""Task metrics, in NumPy. Classification: accuracy, per-class precision, recall and
F1, macro-F1 and the confusion matrix; ROC-AUC, PR-AUC and the expected
calibration error of the probabilities; multi_label_report for sets of
labels; regression_report for numbers."""

import numpy as np


def classification_report(y_true, y_pred, label_names):
    """A JSON-ready report of predictions `y_pred` against labels `y_true`.

    Args:
        y_true: true class ids.
        y_pred: predicted class ids.
        label_names: the class names, indexed by class id.

    Returns:
        A dict with `accuracy`, `macro_f1`, `per_class` (name -> precision,
        recall, f1, support), `confusion_matrix` (rows: true class, columns:
        predicted class), `label_names` and `num_examples`. A class never
        predicted has precision 0; one never present has recall 0 (as
        scikit-learn's `zero_division=0`).

    Example:

    >>> report = classification_report([0, 1, 1, 1], [0, 1, 0, 1], ["neg", "pos"])
    >>> report["accuracy"], report["confusion_matrix"]
    (0.75, [[1, 0], [1, 2]])
    >>> round(report["macro_f1"], 4)
    0.7333
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = len(label_names)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    correct = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(correct, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros(k), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    return {
        "accuracy": float(correct.sum() / max(len(y_true), 1)),
        "macro_f1": float(f1.mean()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion.tolist(),
        "label_names": list(label_names),
        "num_examples": int(len(y_true)),
    }


# Equal-width confidence bins of the expected calibration error (Guo et
# al., 2017, use 15).
CALIBRATION_BINS = 15


def probability_report(y_true, probabilities, label_names, positive=1):
    """What the probabilities themselves are worth, beyond the decisions:
    the expected calibration error with its reliability bins for every
    task, and for two labels the ROC-AUC and PR-AUC (average precision) of
    the positive label's probability (the second by default).

    Args:
        y_true: true class ids.
        probabilities: `(texts, classes)`.
        label_names: the class names.
        positive: of two labels, the index of the positive one.

    Returns:
        A dict with `ece` and `reliability` (per bin: `low`, `high`,
        `count`, `confidence`, `accuracy`); of two labels also `roc_auc`
        and `pr_auc` (None when the texts hold one label only), named for
        the positive label in `positive_label`.

    Example:

    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    >>> report = probability_report([0, 1, 1, 0], p, ["neg", "pos"])
    >>> report["roc_auc"], round(report["pr_auc"], 4)
    (0.75, 0.8333)
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    ece, bins = calibration_error(y_true, probabilities)
    report = {"ece": ece, "reliability": bins}
    if len(label_names) == 2:
        scores = probabilities[:, positive]
        report.update(
            positive_label=str(label_names[positive]),
            roc_auc=roc_auc(y_true == positive, scores),
            pr_auc=average_precision(y_true == positive, scores),
        )
    return report


def calibration_error(y_true, probabilities, bins=CALIBRATION_BINS):
    """The expected calibration error of the most probable class (Guo et
    al., 2017): texts binned by that probability (equal-width bins over
    [0, 1]), the mean gap between each bin's accuracy and its mean
    probability, weighted by the bin's share of texts. Returns `(ece,
    bins)`, the bins as dicts (`low`, `high`, `count`, `confidence`,
    `accuracy`; empty bins have count 0 and None)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds (edges[i], edges[i + 1]]; a confidence of 0 goes to the first.
    index = np.clip(np.searchsorted(edges, confidence, "left") - 1, 0, bins - 1)
    total, rows, ece = len(confidence), [], 0.0
    for i in range(bins):
        inside = index == i
        count = int(inside.sum())
        row = {"low": float(edges[i]), "high": float(edges[i + 1]), "count": count}
        if count:
            row["confidence"] = float(confidence[inside].mean())
            row["accuracy"] = float(correct[inside].mean())
            ece += count / total * abs(row["accuracy"] - row["confidence"])
        else:
            row["confidence"] = row["accuracy"] = None
        rows.append(row)
    return float(ece), rows


def roc_auc(positive, scores):
    """The area under the ROC curve: the chance that a positive text scores
    above a negative one (ties count half); None without both kinds."""
    positive = np.asarray(positive, bool)
    ones, zeros = int(positive.sum()), int((~positive).sum())
    if not ones or not zeros:
        return None
    ranks = _average_ranks(np.asarray(scores, np.float64))
    return float((ranks[positive].sum() - ones * (ones + 1) / 2) / (ones * zeros))


def average_precision(positive, scores):
    """The area under the precision-recall curve as average precision (as
    scikit-learn's `average_precision_score`): the precision at each
    distinct score, weighted by the recall it adds; None without positives."""
    positive = np.asarray(positive, bool)
    if not positive.any():
        return None
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    scores, hits = np.asarray(scores, np.float64)[order], positive[order]
    # The last text of each run of equal scores: one threshold per run.
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(hits)[last]
    precision = true_positives / (last + 1)
    recall = true_positives / positive.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _average_ranks(values):
    """Ranks from 1, equal values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    unique, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks, minlength=len(unique))
    counts = np.bincount(inverse, minlength=len(unique))
    return (sums / counts)[inverse]


def multi_label_report(y_true, y_pred, label_names, probabilities=None):
    """A JSON-ready report of multi-label decisions `y_pred` against the
    true label sets `y_true`, both `(texts, labels)` of 0/1.

    Returns:
        A dict with `micro_f1` (F1 of all text-label decisions pooled),
        `micro_precision`, `micro_recall`, `macro_f1` (the mean of the
        labels' F1), `per_label` (name -> precision, recall, f1, support,
        and with `probabilities` `roc_auc`), `subset_accuracy` (texts whose
        whole set is right), `hamming_loss` (the share of text-label
        decisions that are wrong), `label_cardinality` (labels per text,
        true and predicted), `label_names` and `num_examples`; with
        `probabilities` `(texts, labels)` also `macro_roc_auc` (the mean
        over the labels whose ROC-AUC is defined, or None). Undefined
        ratios are 0, as scikit-learn's `zero_division=0`.

    Example:

    >>> true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    >>> pred = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 1]])
    >>> report = multi_label_report(true, pred, ["a", "b", "c"])
    >>> report["subset_accuracy"], round(report["hamming_loss"], 4)
    (0.3333333333333333, 0.2222)
    >>> round(report["micro_f1"], 4), round(report["macro_f1"], 4)
    (0.8, 0.6667)
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    k = len(label_names)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != k:
        raise ValueError(
            f"Expected label sets of shape (texts, {k}). Received: {y_true.shape} "
            f"and {y_pred.shape}"
        )
    tp = (y_true & y_pred).sum(axis=0).astype(float)
    predicted = y_pred.sum(axis=0).astype(float)
    support = y_true.sum(axis=0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    micro_p = _ratio(tp.sum(), predicted.sum())
    micro_r = _ratio(tp.sum(), support.sum())
    per_label = {
        str(name): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }
    report = {
        "micro_f1": _ratio(2 * micro_p * micro_r, micro_p + micro_r),
        "micro_precision": micro_p,
        "micro_recall": micro_r,
        "macro_f1": float(f1.mean()),
        "subset_accuracy": float(np.mean((y_true == y_pred).all(axis=1))),
        "hamming_loss": float(np.mean(y_true != y_pred)),
        "label_cardinality": {
            "true": float(y_true.sum(axis=1).mean()),
            "predicted": float(y_pred.sum(axis=1).mean()),
        },
        "per_label": per_label,
        "label_names": [str(name) for name in label_names],
        "num_examples": int(len(y_true)),
    }
    if probabilities is not None:
        probabilities = np.asarray(probabilities, np.float64)
        aucs = [roc_auc(y_true[:, i], probabilities[:, i]) for i in range(k)]
        for name, auc in zip(label_names, aucs, strict=True):
            per_label[str(name)]["roc_auc"] = auc
        defined = [auc for auc in aucs if auc is not None]
        report["macro_roc_auc"] = float(np.mean(defined)) if defined else None
    return report


def _ratio(a, b):
    return float(a / b) if b > 0 else 0.0


def regression_report(y_true, y_pred):
    """A JSON-ready report of predicted numbers `y_pred` against the true
    `y_true`: `mae`, `rmse`, `pearson` (linear correlation), `spearman`
    (correlation of ranks, ties sharing their mean rank; None where either
    side is constant), `num_examples`, and the targets' `mean` and `std`.

    Example:

    >>> report = regression_report([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 5.0])
    >>> report["mae"], round(report["pearson"], 4), report["spearman"]
    (0.5, 0.9135, 1.0)
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    errors = y_pred - y_true
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "pearson": _correlation(y_true, y_pred),
        "spearman": _correlation(_average_ranks(y_true), _average_ranks(y_pred)),
        "num_examples": int(len(y_true)),
        "mean": float(np.mean(y_true)),
        "std": float(np.std(y_true)),
    }


def _correlation(a, b):
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt(np.sum(a**2) * np.sum(b**2))
    return float(np.sum(a * b) / scale) if scale > 0 else None
