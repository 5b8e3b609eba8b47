"""A training process for tests/test_distribute.py, run in a process of its own
(devices and a JAX cluster are set up once per process):

    python tests/distributed_run.py CONFIG_JSON OUT_DIR

Trains a classifier with `ClassifierConfig(**CONFIG_JSON)` and writes to
OUT_DIR, per process: `weights-<process>.npz` (the weights `fit` ended
with) and `replica-spread-<process>.json` (the largest difference between
the replicas of any variable, for TensorFlow's MirroredStrategy); and on
the process that gets the run back, `predictions.npy` for `TEXTS`.
"""

import json
import os
import sys
from pathlib import Path

import keras
import numpy as np

from textgru.classification import train_classifier
from textgru.training import ClassifierConfig

TEXTS = ["good fun film", "a dull boring plot", "the actor", "superb lovely scene"]


class SaveWeights(keras.callbacks.Callback):
    """At the end of `fit`, save this process's weights and replica spread."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self.process = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "0")

    def on_train_end(self, logs=None):
        weights = self.model.get_weights()
        np.savez(self.out / f"weights-{self.process}.npz", *weights)
        spread = 0.0
        for variable in self.model.weights:
            replicas = getattr(variable.value, "values", None)  # tf.distribute
            for replica in replicas or ():
                gap = np.abs(np.asarray(replica) - np.asarray(replicas[0])).max()
                spread = max(spread, float(gap))
        path = self.out / f"replica-spread-{self.process}.json"
        path.write_text(json.dumps({"spread": spread, "replicas": _count(self.model)}))


def _count(model):
    replicas = getattr(model.weights[0].value, "values", None)
    return len(replicas) if replicas else 1


def main(argv):
    config = ClassifierConfig(**json.loads(argv[0]))
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    run = train_classifier(config, callbacks=[SaveWeights(out)], verbose=0)
    if run is not None:
        np.save(out / "predictions.npy", run.predict_proba(TEXTS))


if __name__ == "__main__":
    main(sys.argv[1:])
