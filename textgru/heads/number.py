"""One number per text (`textgru train regress`): the model's output, in
the targets' units (the rescaling is part of the model)."""

from textgru.heads.head import Head, as_array, no_top_k


class Number(Head):
    """Each text's `prediction`. In Python, `predict` gives the numbers as a
    float64 array `(texts,)`, as a regression run's `predict` does."""

    name = "number"
    answer = "a number"

    def __init__(self):
        pass

    @property
    def width(self):
        return 1

    def predict(self, texts, outputs, top_k=None):
        no_top_k(top_k, "A regression model")
        return as_array(outputs)[:, 0]

    def answers(self, texts, outputs, top_k=None):
        no_top_k(top_k, "A regression model")
        values = as_array(outputs)[:, 0]
        return [
            {"text": text, "prediction": float(value)}
            for text, value in zip(texts, values, strict=True)
        ]

    def line(self, answer):
        return f"{answer['prediction']:.4f}\t{answer['text']}"

    def summary(self, answer):
        return f"{answer['prediction']:.3g}"

    def columns(self, outputs):
        return {"prediction": as_array(outputs)[:, 0]}

    @property
    def column_kinds(self):
        return {"prediction": "float"}
