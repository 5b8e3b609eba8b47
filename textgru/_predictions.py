"""From a classifier's outputs to what `predict` returns, one way for every
engine: a run's Keras model and an export's ONNX graph (`textgru.deploy`),
which must answer alike. Only NumPy: an export predicts without Keras."""

import numpy as np

from textgru.errors import InvalidArgumentError, RunIntegrityError


def probabilities(engine, preprocessor, texts, batch_size):
    """Class probabilities `(len(texts), classes)` (float64) of `texts`.

    `engine` maps a padded int32 id batch to the model's outputs. Texts go
    through `preprocessor` (`textgru.data.Preprocessor`) batched by length,
    `batch_size` at a time (so little of a batch is padding), and come back
    in the texts' order. A binary model's single sigmoid output p becomes the
    two columns (1 - p, p)."""
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
            "The model gives NaN or infinite probabilities: its weights are broken "
            "(a training run that diverged?); train it again"
        )
    if result.shape[1] == 1:
        result = np.concatenate([1.0 - result, result], axis=1)
    return result


def labelled(texts, probabilities, label_names):
    """One dict per text: the `text`, its `label`, that label's
    `probability`, and all `probabilities` by label name."""
    results = []
    for text, row in zip(texts, probabilities, strict=True):
        best = int(np.argmax(row))
        results.append(
            {
                "text": text,
                "label": label_names[best],
                "probability": float(row[best]),
                "probabilities": dict(zip(label_names, map(float, row), strict=True)),
            }
        )
    return results
