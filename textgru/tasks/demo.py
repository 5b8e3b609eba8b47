"""A one-minute demonstration: `textgru.GRU` learns a toy sequence task.

Each sequence is a variable-length run of token ids, right-padded with 0.
The label says whether token 1 occurs more often than token 2, which a model
can only get right by counting along the whole sequence; padding is masked.
"""

import time
from dataclasses import dataclass

import keras
import numpy as np

from textgru import _validation
from textgru.errors import InvalidArgumentError
from textgru.layers import GRU


@dataclass
class DemoConfig:
    vocab_size: int = 12  # token ids 1..vocab_size-1; 0 is padding
    max_length: int = 24  # longest sequence
    train_size: int = 4000  # training sequences
    test_size: int = 1000  # held-out sequences
    units: int = 32  # GRU units
    epochs: int = 6
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self):
        for name in (
            "vocab_size",
            "max_length",
            "train_size",
            "test_size",
            "units",
            "epochs",
            "batch_size",
        ):
            _validation.positive_int(name, getattr(self, name))
        _validation.seed("seed", self.seed)
        if self.vocab_size < 3 or self.max_length < 4:
            raise InvalidArgumentError(
                "The counting task needs vocab_size >= 3 and max_length >= 4. "
                f"Received: vocab_size={self.vocab_size}, max_length={self.max_length}"
            )


def make_counting_task(size, vocab_size, max_length, rng):
    """Returns `(ids, labels)`: right-padded int32 ids and 0/1 float labels."""
    ids = np.zeros((size, max_length), dtype="int32")
    labels = np.zeros((size,), dtype="float32")
    for i in range(size):
        length = rng.integers(4, max_length + 1)
        row = rng.integers(1, vocab_size, size=length)
        while (row == 1).sum() == (row == 2).sum():
            row[rng.integers(length)] = rng.integers(1, 3)
        ids[i, :length] = row
        labels[i] = float((row == 1).sum() > (row == 2).sum())
    return ids, labels


def run_demo(config=None, verbose=1):
    """Trains a small Embedding → textgru.GRU → Dense model on the counting
    task and returns a dict with the held-out accuracy and wall time."""
    config = config or DemoConfig()
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x_train, y_train = make_counting_task(
        config.train_size, config.vocab_size, config.max_length, rng
    )
    x_test, y_test = make_counting_task(
        config.test_size, config.vocab_size, config.max_length, rng
    )
    model = keras.Sequential(
        [
            keras.Input((config.max_length,), dtype="int32"),
            keras.layers.Embedding(config.vocab_size, 16, mask_zero=True),
            GRU(config.units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_split=0.1,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    majority = max(y_test.mean(), 1 - y_test.mean())
    return {
        "test_accuracy": float(accuracy),
        "majority_baseline": float(majority),
        "train_seconds": seconds,
    }
