"""Classification metrics, in NumPy: accuracy, per-class precision, recall and
F1, macro-F1 and the confusion matrix."""

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
