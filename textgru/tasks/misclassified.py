"""What a run gets wrong, worst first, as a file to read (`textgru evaluate
RUN --errors FILE`, `run.evaluate(errors=...)`): of a classifier, each text
it labels wrongly with its true and predicted labels, the probability of
the prediction and of the true label, and every label's; of a multi-label
classifier, each text whose set of labels it gets wrong; of a regressor,
every text with its target, the prediction and the error."""

import csv
import io
import json
from pathlib import Path

import numpy as np

from textgru._atomic import atomic_path
from textgru.errors import InvalidArgumentError

FORMATS = (".csv", ".jsonl")


def check_target(path):
    """`path` as the errors file to write: a `.csv` or `.jsonl` name that
    is not there yet (nothing of the user's is replaced) and not a link."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InvalidArgumentError(
            f"Expected the errors file to end in .csv or .jsonl. Received: {path}"
        )
    if path.is_symlink() or path.exists():
        raise InvalidArgumentError(
            f"{path} already exists; remove it or name another errors file"
        )
    if not path.parent.is_dir():
        raise InvalidArgumentError(f"No such folder for the errors file: {path.parent}")
    return path


def classifier_columns(label_names):
    """The columns of a classifier's rows."""
    heads = ["text", "label", "predicted", "probability", "p_true"]
    return heads + [f"p_{name}" for name in label_names]


def misclassified(texts, labels, decided, probabilities, label_names):
    """One row per text whose decided label is not its label, the most
    confident mistakes first (by the probability of the predicted label)."""
    probabilities = np.asarray(probabilities, np.float64)
    labels, decided = np.asarray(labels), np.asarray(decided)
    confidence = probabilities[np.arange(len(labels)), decided]
    wrong = np.flatnonzero(decided != labels)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    return [
        {
            "text": texts[i],
            "label": str(label_names[labels[i]]),
            "predicted": str(label_names[decided[i]]),
            "probability": float(confidence[i]),
            "p_true": float(probabilities[i, labels[i]]),
            **{
                f"p_{name}": float(p)
                for name, p in zip(label_names, probabilities[i], strict=True)
            },
        }
        for i in wrong
    ]


def multi_label_columns(label_names):
    """The columns of a multi-label classifier's rows."""
    heads = ["text", "labels", "predicted", "missed", "extra", "error"]
    return heads + [f"p_{name}" for name in label_names]


def wrong_label_sets(texts, labels, decided, probabilities, label_names):
    """One row per text whose decided set of labels is not its own, the
    most confident mistakes first: by `error`, the largest gap between a
    wrongly decided label's probability and the truth (1 for a label the
    text has, 0 for one it lacks). Labels are joined with "|"."""
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels).astype(bool)
    decided = np.asarray(decided).astype(bool)
    wrong_cells = labels != decided
    gaps = np.where(wrong_cells, np.abs(labels - probabilities), 0.0).max(axis=1)
    wrong = np.flatnonzero(wrong_cells.any(axis=1))
    wrong = wrong[np.argsort(-gaps[wrong], kind="stable")]
    names = [str(name) for name in label_names]

    def joined(mask):
        return "|".join(name for name, on in zip(names, mask, strict=True) if on)

    return [
        {
            "text": texts[i],
            "labels": joined(labels[i]),
            "predicted": joined(decided[i]),
            "missed": joined(labels[i] & ~decided[i]),
            "extra": joined(decided[i] & ~labels[i]),
            "error": float(gaps[i]),
            **{
                f"p_{name}": float(p)
                for name, p in zip(names, probabilities[i], strict=True)
            },
        }
        for i in wrong
    ]


REGRESSOR_COLUMNS = ["text", "target", "predicted", "error"]


def worst_predicted(texts, targets, predicted):
    """Every text, the largest absolute error first."""
    targets = np.asarray(targets, np.float64)
    errors = np.asarray(predicted, np.float64) - targets
    order = np.argsort(-np.abs(errors), kind="stable")
    return [
        {
            "text": texts[i],
            "target": _single(targets[i]),
            "predicted": _single(targets[i] + errors[i]),
            "error": _single(errors[i]),
        }
        for i in order
    ]


def _single(value):
    """A float32 number (targets and predictions are) as the shortest decimal
    that reads back as it: -1.279, not the float64 -1.2790000438690186."""
    return float(np.format_float_positional(np.float32(value), unique=True))


def write(path, rows, columns):
    """`rows` (dicts of `columns`) to `path`, CSV or JSON lines by its
    suffix, written whole or not at all."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([row[column] for column in columns] for row in rows)
        text = out.getvalue()
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return path
