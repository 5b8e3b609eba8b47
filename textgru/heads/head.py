"""What every head shares: how a task's model outputs become its answers.

A head is the last step of Hugging Face's preprocess -> forward ->
postprocess pipeline, written once for a run's Keras model and an export's
ONNX graph, which must answer alike. It knows the facts the answers need
(label names, thresholds, ...), recorded in a run's config.json and an
export's export.json, and turns the model's outputs `(texts, width)` into:

- `answers`: one JSON-ready dict per text (`predict`, `POST /predict`,
  `predict --json`, a JSON-lines file);
- `line`: one answer as the one line `textgru predict` prints;
- `columns`: the columns a labelled CSV or Parquet file gains.

Only NumPy: an export answers without TensorFlow or Keras.
"""

import numpy as np

from textgru.errors import InvalidArgumentError


class Head:
    """One kind of answer. Subclasses set `name` and `answer` and override
    the methods below; an instance holds its facts.

    Attributes:
        name: the head's word, recorded in export.json (`"head": {"name"}`).
        answer: what `/predict` answers per text, for the server's summary.
    """

    name = None
    answer = ""

    @classmethod
    def from_facts(cls, facts):
        """The head of these recorded facts (`facts()`); a `ValueError`,
        `TypeError` or `KeyError` where they are damaged."""
        return cls(**{k: v for k, v in facts.items() if k != "name"})

    def facts(self):
        """What export.json records of this head (JSON), its name included."""
        return {"name": self.name}

    @property
    def width(self):
        """How many outputs per text the model gives."""
        raise NotImplementedError

    @property
    def label_names(self):
        """The labels it answers with (none for a number)."""
        return []

    def probabilities(self, outputs):
        """The probabilities the outputs stand for, `(texts, labels)`; a
        head of numbers has none."""
        raise InvalidArgumentError(
            f"This model answers {self.answer} per text, not probabilities; use predict"
        )

    def predict(self, texts, outputs, top_k=None):
        """What `predict` returns in Python: the `answers` by default."""
        return self.answers(texts, outputs, top_k)

    def answers(self, texts, outputs, top_k=None):
        """One dict per text, with its `text`."""
        raise NotImplementedError

    def line(self, answer):
        """One answer as the tab-separated line `textgru predict` prints."""
        raise NotImplementedError

    def summary(self, answer):
        """One answer in a few words, without its text (a figure's title)."""
        raise NotImplementedError

    def columns(self, outputs):
        """`{name: column}` (NumPy arrays, one row per text) that a labelled
        file gains; the names as `column_kinds` lists them."""
        raise NotImplementedError

    @property
    def column_kinds(self):
        """`{name: "string" | "float"}` of `columns`, in order."""
        raise NotImplementedError

    def check_width(self, width, where):
        """A `ValueError` naming `where` unless the model gives `width`
        outputs per text."""
        if width is not None and width != self.width:
            raise ValueError(
                f"{where} names {self.width} output(s) per text, which does not fit "
                f"the model's {width}"
            )


def no_top_k(top_k, what):
    """Refuse a `top_k` where there are no labels to rank."""
    if top_k is not None:
        raise InvalidArgumentError(
            f"{what} predicts one number per text, with no labels for --top-k"
        )


def named_labels(names):
    """The label names of recorded facts: a list of at least one string."""
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(name, str) for name in names)
    ):
        raise ValueError(f"label names {names!r} are not a list of strings")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"label names {names!r} name {', '.join(twice)} twice")
    return list(names)


def as_array(outputs):
    """The model's outputs as float64 `(texts, width)`."""
    return np.asarray(outputs, np.float64)
