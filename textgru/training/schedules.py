"""Learning-rate schedules beyond Keras's own: the slanted triangle of ULMFiT."""

import math

import keras
from keras import ops

from textgru import _validation
from textgru.errors import InvalidArgumentError


@keras.saving.register_keras_serializable(package="textgru")
class SlantedTriangular(keras.optimizers.schedules.LearningRateSchedule):
    """A short linear rise to the peak rate, then a long linear fall.

    The slanted triangular learning rate of ULMFiT (Howard & Ruder, 2018,
    eq. 3): over `total_steps` steps the rate climbs for the first
    `cut_fraction` of them from `peak_learning_rate / ratio` to
    `peak_learning_rate`, then falls back to `peak_learning_rate / ratio` at
    the last step, and stays there after it.

    Args:
        peak_learning_rate: the highest rate, reached at the cut.
        total_steps: the optimizer steps the triangle spans.
        cut_fraction: the fraction of steps spent rising.
        ratio: how much smaller the lowest rate is than the peak.

    Example:

    >>> schedule = SlantedTriangular(0.01, total_steps=100)
    >>> [round(float(schedule(step)), 5) for step in (0, 10, 100)]
    [0.00031, 0.01, 0.00031]
    """

    def __init__(self, peak_learning_rate, total_steps, cut_fraction=0.1, ratio=32.0):
        if not peak_learning_rate > 0:
            raise InvalidArgumentError(
                "Expected `peak_learning_rate` > 0. "
                f"Received: peak_learning_rate={peak_learning_rate}"
            )
        _validation.positive_int("total_steps", total_steps)
        if not 0 < cut_fraction < 1:
            raise InvalidArgumentError(
                "Expected `cut_fraction` between 0 and 1. "
                f"Received: cut_fraction={cut_fraction}"
            )
        if not ratio >= 1:
            raise InvalidArgumentError(
                f"Expected `ratio` >= 1. Received: ratio={ratio}"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.cut_fraction = float(cut_fraction)
        self.ratio = float(ratio)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        cut = max(1, math.floor(self.total_steps * self.cut_fraction))
        fall = max(self.total_steps - cut, 1)
        rising = step / cut
        falling = ops.maximum(1.0 - (step - cut) / fall, 0.0)
        p = ops.where(step < cut, rising, falling)
        return self.peak_learning_rate * (1.0 + p * (self.ratio - 1.0)) / self.ratio

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "cut_fraction": self.cut_fraction,
            "ratio": self.ratio,
        }


SCHEDULES = ("constant", "cosine", "slanted")


def total_steps(config, steps_per_epoch):
    """The optimizer steps a run of `config` takes at most."""
    steps = config.epochs * steps_per_epoch
    return min(steps, config.max_steps) if config.max_steps else steps


def learning_rate_schedule(config, steps):
    """The learning rate over `steps` optimizer steps, as a Keras schedule.

    `slanted` is `SlantedTriangular` (it has its own rise, so `warmup_steps`
    does not apply to it)."""
    if config.schedule == "slanted":
        return SlantedTriangular(config.learning_rate, max(int(steps), 1))
    if config.schedule == "constant" and not config.warmup_steps:
        return config.learning_rate
    warmup = min(config.warmup_steps, max(steps - 1, 0))
    decay_steps = max(steps - warmup, 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else config.learning_rate,
        decay_steps=decay_steps,
        alpha=1.0 if config.schedule == "constant" else 0.0,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
