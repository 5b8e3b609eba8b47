"""Training in stages (gradual unfreezing, ULMFiT): one `fit` per stage, the
top layer groups first, with discriminative learning rates per group."""

import contextlib
import dataclasses
import time
import warnings

import keras

from textgru._status import say
from textgru.training import run_directory
from textgru.training.callbacks import StopOnNaN, training_callbacks
from textgru.training.loop import drop_damaged_best, fit, read_best
from textgru.training.schedules import total_steps


@dataclasses.dataclass(frozen=True)
class Stage:
    """One `fit` of gradual unfreezing: the top `groups` layer groups train
    until epoch `end` (counted over the whole run)."""

    name: str
    groups: int
    end: int


def unfreezing_stages(groups, freeze_epochs, epochs):
    """The stages for layer `groups` (top first, lists of layers, as
    `TextClassifier.layer_groups` gives them): the top group alone, then one
    more group per stage, `freeze_epochs` each, then every group for
    `epochs`. With `freeze_epochs=0`, one stage of `epochs`."""
    stages, end = [], 0
    if freeze_epochs:
        for count in range(1, len(groups)):
            end += freeze_epochs
            name = "+".join(layer.name for group in groups[:count] for layer in group)
            stages.append(Stage(name, count, end))
    stages.append(Stage("all", len(groups), end + epochs))
    return stages


def layer_factors(groups, lr_decay):
    """Discriminative rates: the factor on the learning rate of each layer
    (by `layer.path`, as `DiscriminativeAdamW` takes them), 1 for the top
    group and `lr_decay ** -k` for the k-th group below it."""
    return {
        layer.path: lr_decay**-depth
        for depth, group in enumerate(groups)
        for layer in group
        if depth and lr_decay != 1
    }


def freeze(groups, count):
    """Make the top `count` layer groups trainable and the rest frozen."""
    for depth, group in enumerate(groups):
        for layer in group:
            layer.trainable = depth < count


class StageNumber(keras.callbacks.Callback):
    """Adds the stage's number (1, 2, ...) to each epoch's logs: a `stage`
    column in history.csv."""

    def __init__(self, number):
        super().__init__()
        self.number = number

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["stage"] = self.number


def fit_in_stages(model, groups, compile, train, validation, context):
    """Fine-tune `model` by gradual unfreezing of its layer `groups` (top
    first), one `fit` per stage, in the run's working folder, as the
    `FitContext`'s config says (`freeze_epochs`, `epochs`, `learning_rate`,
    `stage_lr_decay`, `lr_decay`).

    Each stage compiles afresh (Keras needs that when `trainable` changes)
    with `compile(model, stage_config, steps, layer_factors)`: its own
    schedule over its steps (peaking `stage_lr_decay` times lower than the
    stage before) and the discriminative factors. One `BackupAndRestore`
    folder spans the stages, so `--resume` skips the finished ones and
    continues the interrupted one.
    Returns `(model, seconds, history_rows)`: the model with the best
    epoch's weights on `config.monitor` over all stages (of a distributed
    run, as `fit_run` returns it).
    """
    config, work, distribution = context.config, context.work, context.distribution
    factors = layer_factors(groups, config.lr_decay)
    stages = unfreezing_stages(groups, config.freeze_epochs, config.epochs)
    steps_per_epoch = int(train.cardinality())
    start, first = time.perf_counter(), 0
    for number, stage in enumerate(stages, start=1):
        say(
            f"stage {number} of {len(stages)}: training {stage.name} "
            f"(to epoch {stage.end})"
        )
        freeze(groups, stage.groups)
        peak = config.learning_rate / config.stage_lr_decay ** (number - 1)
        stage_config = config.replace(epochs=stage.end - first, learning_rate=peak)
        steps = total_steps(stage_config, steps_per_epoch)
        drop_damaged_best(work, distribution)
        best, seconds = read_best(work, config.monitor, distribution)
        stage_callbacks = [
            StopOnNaN(peak),
            StageNumber(number),
            *training_callbacks(config, work, best, seconds, distribution),
            *context.callbacks,
        ]
        with distribution.scope(), _quiet_optimizer_restore():
            compile(model, stage_config, steps, factors)
            fit(model, train, validation, config, stage_callbacks,
                context.fit_verbosity, epochs=stage.end, first=first)  # fmt: skip
        first = stage.end
    seconds = time.perf_counter() - start
    model = distribution.local_model(model, work)
    if model is None:
        return None, seconds, []
    if (work / "best.weights.h5").exists():
        with _quiet_optimizer_restore():
            model.load_weights(work / "best.weights.h5")
    return model, seconds, run_directory.read_history(work / "history.csv")


@contextlib.contextmanager
def _quiet_optimizer_restore():
    """Weights saved in one stage carry that stage's optimizer state, which a
    later stage's optimizer (over more variables) cannot take; Keras skips it
    with a warning that is expected here."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipping variable loading for optimizer"
        )
        yield
