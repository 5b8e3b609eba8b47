"""AdamW's update in the sentiment recipe: textgru's FusedAdamW against
keras.optimizers.AdamW, on TensorFlow.

The recipe's model (Embedding(20000, 128) -> bidirectional GRU(128) -> max
pooling -> Dense, adversarial training off) and its optimizer settings
(weight decay 1e-4, clipnorm 1.0, its learning-rate schedule), with gradients
of one batch of 64 texts of 24 tokens (the embedding's gradient sparse, as
in training). Times, in interleaved rounds with medians:

- "apply": `optimizer.apply` of those gradients alone, compiled as Keras
  compiles its training step (`tf.function`, not XLA);
- "step": `model.train_on_batch` of the batch with each optimizer.

    python benchmarks/optimizer_speed.py
    python benchmarks/optimizer_speed.py --rounds 3 --steps 5 --vocab 2000
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from textgru.models.classifier import build_classifier  # noqa: E402
from textgru.tasks import ClassifierConfig  # noqa: E402
from textgru.training import FusedAdamW, learning_rate_schedule  # noqa: E402
from textgru.training.losses import classification_loss  # noqa: E402

OPTIMIZERS = {"keras.AdamW": keras.optimizers.AdamW, "textgru.FusedAdamW": FusedAdamW}


def _optimizer(cls, config):
    return cls(
        learning_rate=learning_rate_schedule(config, 1000),
        weight_decay=config.weight_decay,
        clipnorm=config.clipnorm,
    )


def _model(vocab, cls, config):
    keras.utils.set_random_seed(0)
    model = build_classifier(vocab, 2, adversarial=0.0)
    model.compile(_optimizer(cls, config), classification_loss(2, 0.0))
    return model


def _time(run, steps):
    start = time.perf_counter()
    for _ in range(steps):
        run()
    return (time.perf_counter() - start) / steps * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="steps per round")
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=24)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        parser.error(
            "FusedAdamW fuses on TensorFlow; run with KERAS_BACKEND=tensorflow"
        )
    config = ClassifierConfig()
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, args.vocab, (args.batch, args.length)).astype("int32")
    labels = rng.integers(0, 2, (args.batch,))
    runs = {}
    for name, cls in OPTIMIZERS.items():
        model = _model(args.vocab, cls, config)
        with tf.GradientTape() as tape:
            loss = model.compute_loss(y=labels, y_pred=model(tokens, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        apply = tf.function(
            lambda g, o=model.optimizer, m=model: o.apply(g, m.trainable_variables)
        )
        step_model = _model(args.vocab, cls, config)
        runs["apply", name] = lambda a=apply, g=grads: a(g)
        runs["step", name] = lambda m=step_model: m.train_on_batch(tokens, labels)
    for run in runs.values():  # trace and compile
        run()
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name].append(_time(run, args.steps))
    print(
        f"keras {keras.__version__}, tensorflow {tf.__version__}, "
        f"{os.cpu_count()} CPUs; vocab {args.vocab}, batch {args.batch}x"
        f"{args.length}; median of {args.rounds} rounds of {args.steps} steps"
    )
    medians = {name: statistics.median(values) for name, values in times.items()}
    for (what, name), value in medians.items():
        print(f"{what:6} {name:20} {value:7.2f} ms")
    for what in ("apply", "step"):
        ratio = medians[what, "keras.AdamW"] / medians[what, "textgru.FusedAdamW"]
        print(f"{what}: FusedAdamW is {ratio:.2f}x as fast as keras.optimizers.AdamW")
    return medians


if __name__ == "__main__":
    main()
