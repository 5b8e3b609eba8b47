"""One label per text (`textgru train classify`): a softmax over the
classes, or a binary model's sigmoid, with the run's calibration temperature
and decision threshold."""

import numpy as np

from textgru import _predictions
from textgru.heads.head import Head, as_array, named_labels


class Labels(Head):
    """Each text's `label`, its `probability` and every label's.

    Args:
        label_names: the classes, in the model's order (at least 2).
        threshold: a binary model's decision threshold on the second label's
            probability (None: the likelier label).
        temperature: the calibration temperature the logits are divided by
            (None: none).
    """

    name = "labels"
    answer = "a label and its probability"

    def __init__(self, label_names, threshold=None, temperature=None):
        self.names = named_labels(label_names)
        if len(self.names) < 2:
            raise ValueError("fewer than 2 labels")
        if threshold is not None:
            if len(self.names) != 2:
                raise ValueError("a threshold for more than 2 labels")
            threshold = _predictions.check_threshold(threshold)
        if temperature is not None:
            temperature = _predictions.check_temperature(temperature)
        self.threshold, self.temperature = threshold, temperature

    def facts(self):
        return {
            "name": self.name,
            "label_names": self.names,
            "threshold": self.threshold,
            "temperature": self.temperature,
        }

    @property
    def width(self):
        return 1 if len(self.names) == 2 else len(self.names)

    @property
    def label_names(self):
        return list(self.names)

    def probabilities(self, outputs):
        """Class probabilities `(texts, classes)`: a binary model's p made
        (1 - p, p), calibrated by the temperature."""
        raw = as_array(outputs)
        if raw.shape[1] == 1:
            raw = np.concatenate([1.0 - raw, raw], axis=1)
        return _predictions.calibrated(raw, self.temperature)

    def answers(self, texts, outputs, top_k=None):
        return _predictions.labelled(
            list(texts), self.probabilities(outputs), self.names, self.threshold,
            top_k,
        )  # fmt: skip

    def line(self, answer):
        return f"{answer['label']}\t{answer['probability']:.4f}\t{answer['text']}"

    def summary(self, answer):
        return f"{answer['label']} ({answer['probability']:.2f})"

    def columns(self, outputs):
        probabilities = self.probabilities(outputs)
        best = _predictions.decide(probabilities, self.threshold)
        columns = {
            "label": np.asarray(self.names, dtype=object)[best],
            "probability": probabilities[np.arange(len(best)), best],
        }
        for i, name in enumerate(self.names):
            columns[f"p_{name}"] = probabilities[:, i]
        return columns

    @property
    def column_kinds(self):
        return {
            "label": "string",
            "probability": "float",
            **{f"p_{name}": "float" for name in self.names},
        }
