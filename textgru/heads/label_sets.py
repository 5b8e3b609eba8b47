"""Any number of labels per text (`textgru train multilabel`): a sigmoid per
label, each decided at its own threshold."""

import numpy as np

from textgru import _predictions
from textgru.heads.head import Head, as_array, named_labels


class LabelSets(Head):
    """Each text's `labels` (those at or above their thresholds, likeliest
    first; possibly none) and every label's probability.

    Args:
        label_names: the labels, in the model's order.
        thresholds: each label's decision threshold, in (0, 1).
        separator: what joins a text's labels in a labelled CSV or Parquet
            file (the run's `--label-separator`; None: "|").
    """

    name = "label_sets"
    answer = "the labels at their thresholds, and every label's probability"

    def __init__(self, label_names, thresholds, separator=None):
        self.names = named_labels(label_names)
        if not isinstance(thresholds, list | tuple | np.ndarray) or len(
            thresholds
        ) != len(self.names):
            raise ValueError(f"{len(self.names)} labels but thresholds {thresholds!r}")
        self.thresholds = np.array(
            [_predictions.check_threshold(float(t)) for t in thresholds], np.float64
        )
        if separator is not None and (not isinstance(separator, str) or not separator):
            raise ValueError(f"a label separator {separator!r}")
        self.separator = separator

    def facts(self):
        return {
            "name": self.name,
            "label_names": self.names,
            "thresholds": [float(t) for t in self.thresholds],
            "separator": self.separator,
        }

    @property
    def width(self):
        return len(self.names)

    @property
    def label_names(self):
        return list(self.names)

    def probabilities(self, outputs):
        """Each label's own sigmoid, `(texts, labels)`."""
        return as_array(outputs)

    def answers(self, texts, outputs, top_k=None):
        return _predictions.label_sets(
            list(texts), as_array(outputs), self.names, self.thresholds, top_k
        )

    def line(self, answer):
        return f"{'|'.join(map(str, answer['labels']))}\t{answer['text']}"

    def summary(self, answer):
        return "|".join(map(str, answer["labels"])) or "no label"

    def columns(self, outputs):
        probabilities = as_array(outputs)
        decided = _predictions.decide_labels(probabilities, self.thresholds)
        join = self.separator or "|"
        labels = np.empty(len(probabilities), dtype=object)
        for row, (p, chosen) in enumerate(zip(probabilities, decided, strict=True)):
            order = np.argsort(-p, kind="stable")
            labels[row] = join.join(self.names[i] for i in order if chosen[i])
        columns = {"labels": labels}
        for i, name in enumerate(self.names):
            columns[f"p_{name}"] = probabilities[:, i]
        return columns

    @property
    def column_kinds(self):
        return {"labels": "string", **{f"p_{name}": "float" for name in self.names}}
