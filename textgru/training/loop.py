"""The fit loop of a run folder: `fit` with the run's callbacks, keeping the
best epoch across an interruption and its `--resume`."""

import dataclasses
import json
import math
import time
from pathlib import Path

import keras

from textgru.training import run_directory
from textgru.training.backups import readable_weights
from textgru.training.callbacks import StopOnNaN, training_callbacks
from textgru.training.distribute import Distribution


@dataclasses.dataclass(frozen=True)
class FitContext:
    """Where and how a run's `fit` happens, beside the model and its data:
    the run's `config`, its working folder `work`, the caller's extra
    Keras `callbacks`, the `verbose` level of `fit`, and the `distribution`
    (`textgru.training.distribute.Distribution`) it runs on."""

    config: object
    work: Path
    callbacks: tuple = ()
    verbose: object = "auto"
    distribution: Distribution = dataclasses.field(default_factory=Distribution)

    def with_callbacks(self, *callbacks):
        """The same context with `callbacks` before the caller's."""
        return dataclasses.replace(self, callbacks=(*callbacks, *self.callbacks))

    @property
    def fit_verbosity(self):
        """`verbose` on the chief; the other processes print nothing."""
        return self.verbose if self.distribution.is_chief else 0


def fit(
    model, train, validation, config, callbacks, verbose="auto", epochs=None, first=0
):
    """`model.fit` from epoch `first` to `epochs` (default `config.epochs`);
    returns the seconds it took."""
    start = time.perf_counter()
    epochs = config.epochs if epochs is None else epochs
    steps_per_epoch = None
    per_epoch = int(train.cardinality())
    if config.max_steps and 0 < config.max_steps < per_epoch and first == 0:
        # All the steps fit in one epoch: make it that long, so the progress
        # bar counts the steps that will run.
        steps_per_epoch, epochs = config.max_steps, 1
    _build_state(model, train)
    model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        initial_epoch=first,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=verbose,
    )
    return time.perf_counter() - start


def _build_state(model, train):
    """Make the optimizer's and the compiled metrics' variables now, where
    Keras on TensorFlow without a distribution strategy makes them while it
    traces the first training step: a step that makes variables is traced
    twice (once to make them, once more without), which cost a tiny run
    1.2 of its 5.5 s of CPU, measured. Keras's own `_symbolic_build` does
    it (from the dataset's element spec: no batch is read), as Keras does
    under a strategy; the variables are the same either way."""
    build = getattr(model, "_symbolic_build", None)
    if (
        build is not None
        and keras.backend.backend() == "tensorflow"
        and getattr(model, "_distribute_strategy", None) is None
        and hasattr(train, "element_spec")
    ):
        build(data_batch=train.element_spec)


def drop_damaged_best(work, distribution=None):
    """A best-epoch checkpoint that a kill left half-written is dropped (the
    resumed run saves a new one at its next best epoch)."""
    distribution = distribution or Distribution()
    folder = work if distribution.is_chief else distribution.backup_dir(work)
    best = folder / "best.weights.h5"
    if best.exists() and not readable_weights(best):
        best.unlink()


def read_best(work, monitor, distribution=None):
    """`(best monitored value, seconds trained)` so far in the run folder
    `work`, from its history.csv (`(None, 0.0)` before the first epoch); of
    a distributed run, the chief's on every process."""

    def read():
        earlier = run_directory.read_history(work / "history.csv")
        seconds = float(earlier[-1].get("seconds") or 0) if earlier else 0.0
        return json.dumps([best_value(earlier, monitor), seconds])

    return tuple(json.loads((distribution or Distribution()).from_chief(read)))


def best_epoch(history_rows, monitor):
    """The `epoch` (from 0) of the best `monitor` value in the rows of a
    history.csv: the epoch whose weights a run keeps; None if no row has it."""
    best = best_value(history_rows, monitor)
    for row in history_rows:
        value = row.get(monitor)
        if value not in (None, "") and float(value) == best:
            return int(float(row["epoch"]))
    return None


def best_value(history_rows, monitor):
    """The best `monitor` value in the rows of a history.csv, or None."""
    values = [
        float(r[monitor]) for r in history_rows if r.get(monitor) not in (None, "")
    ]
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return None
    better_is_higher = "acc" in monitor or "f1" in monitor
    return max(values) if better_is_higher else min(values)


def fit_run(model, train, validation, context):
    """Fit a compiled `model` in the run's working folder and keep its best
    epoch, as the `FitContext` says.

    Returns `(model, seconds, history_rows)`: the model with the best weights
    on `config.monitor`, across an interruption and its resume. Of a
    distributed run (built and compiled in `distribution.scope()`), the model
    returned is an ordinary one-device copy on the chief, and `None` on the
    other processes.
    """
    config, work, distribution = context.config, context.work, context.distribution
    history_path = work / "history.csv"
    drop_damaged_best(work, distribution)
    best_so_far, seconds_so_far = read_best(work, config.monitor, distribution)
    all_callbacks = [
        StopOnNaN(config.learning_rate),
        *training_callbacks(config, work, best_so_far, seconds_so_far, distribution),
        *context.callbacks,
    ]
    with distribution.scope():
        seconds = fit(
            model, train, validation, config, all_callbacks, context.fit_verbosity
        )
    model = distribution.local_model(model, work)
    if model is not None and (work / "best.weights.h5").exists():
        model.load_weights(work / "best.weights.h5")
    return model, seconds, run_directory.read_history(history_path)
