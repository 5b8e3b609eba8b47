"""Training for tests/test_distribute.py, run in a process of its own
(devices and a JAX cluster are set up once per process):

    python tests/distributed_run.py JOBS_JSON OUT_DIR

JOBS_JSON maps a job name to its config, trained in that order: a
language model (`LanguageModelConfig`) for a name that starts with "lm",
else a classifier (`ClassifierConfig`). For each JOB this writes to
OUT_DIR, per process: `JOB-weights-<process>.npz` (the weights `fit` ended
with), `JOB-replicas-<process>.json` (how many replicas each variable has
and the largest difference between them, for TensorFlow's
MirroredStrategy) and `JOB-fast-path-<process>.json` (how many GRU loops
were traced on `textgru.layers.recurrence`); and for the last classifier,
on the process that gets the run back, `predictions.npy` for `TEXTS`.
"""

import json
import os
import sys
from pathlib import Path

import keras
import numpy as np

from textgru.layers import recurrence
from textgru.tasks import ClassifierConfig, LanguageModelConfig
from textgru.tasks.classification import train_classifier
from textgru.tasks.language_modeling import train_language_model

TEXTS = ["good fun film", "a dull boring plot", "the actor", "superb lovely scene"]
PROCESS = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "0")


class SaveWeights(keras.callbacks.Callback):
    """At the end of `fit`, save this process's weights and replicas."""

    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix

    def on_train_end(self, logs=None):
        np.savez(f"{self.prefix}-weights-{PROCESS}.npz", *self.model.get_weights())
        spread, count = 0.0, 1
        for variable in self.model.weights:
            replicas = getattr(variable.value, "values", None)  # tf.distribute
            for replica in replicas or ():
                gap = np.abs(np.asarray(replica) - np.asarray(replicas[0])).max()
                spread, count = max(spread, float(gap)), len(replicas)
        path = Path(f"{self.prefix}-replicas-{PROCESS}.json")
        path.write_text(json.dumps({"spread": spread, "replicas": count}))


class CountFastPath:
    """Counts the GRU loops traced on the fast path while in use."""

    def __enter__(self):
        self.count, self.original = 0, recurrence.recurrence

        def counted(*args, **kwargs):
            self.count += 1
            return self.original(*args, **kwargs)

        recurrence.recurrence = counted
        return self

    def __exit__(self, *exc):
        recurrence.recurrence = self.original


def main(argv):
    jobs, out = json.loads(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for job, values in jobs.items():
        callbacks = [SaveWeights(out / job)]
        with CountFastPath() as fast:
            if job.startswith("lm"):
                config = LanguageModelConfig(**values)
                train_language_model(config, callbacks=callbacks, verbose=0)
            else:
                config = ClassifierConfig(**values)
                run = train_classifier(config, callbacks=callbacks, verbose=0)
                if run is not None:
                    np.save(out / "predictions.npy", run.predict_proba(TEXTS))
        (out / f"{job}-fast-path-{PROCESS}.json").write_text(str(fast.count))


if __name__ == "__main__":
    main(sys.argv[1:])
