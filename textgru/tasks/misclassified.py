"""The texts a classifier gets wrong, most confidently wrong first, as a
file to read (`textgru evaluate RUN --errors FILE`, `ClassifierRun.evaluate(
errors=...)`): for each, the text, its true and predicted labels, the
probability of the prediction and of the true label, and every label's."""

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


def rows(texts, labels, decided, probabilities, label_names):
    """One dict per text whose decided label is not its label, the most
    confident mistakes first (by the probability of the predicted label)."""
    probabilities = np.asarray(probabilities, np.float64)
    labels, decided = np.asarray(labels), np.asarray(decided)
    index = np.arange(len(labels))
    confidence = probabilities[index, decided]
    wrong = np.flatnonzero(decided != labels)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    return [
        {
            "text": texts[i],
            "label": str(label_names[labels[i]]),
            "predicted": str(label_names[decided[i]]),
            "probability": float(confidence[i]),
            "p_true": float(probabilities[i, labels[i]]),
            "probabilities": {
                str(name): float(p)
                for name, p in zip(label_names, probabilities[i], strict=True)
            },
        }
        for i in wrong
    ]


def write(path, found, label_names):
    """The rows `found` to `path` (CSV with a `p_<label>` column per label,
    or JSON lines), written whole or not at all."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in found)
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        head = ["text", "label", "predicted", "probability", "p_true"]
        writer.writerow([*head, *(f"p_{name}" for name in label_names)])
        for row in found:
            writer.writerow(
                [row[key] for key in head]
                + [row["probabilities"][str(name)] for name in label_names]
            )
        text = out.getvalue()
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return path
