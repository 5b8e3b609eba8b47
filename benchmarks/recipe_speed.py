"""End to end: a recipe's training time with textgru.GRU against the same
recipe with keras.layers.GRU.

Trains a recipe with its defaults (`--task classify`: the sentiment recipe on
rotten_tomatoes, bidirectional GRU(128), bucketed batches; `--task lm`: the
character model of shakespeare, GRU(512) over fixed windows of 128) with
each layer, alternating, for the same number of steps (early stopping off),
and prints the `fit` seconds of each run (from the run's metrics), their
medians and the ratio.

    python benchmarks/recipe_speed.py                        # sentiment, 3 epochs
    python benchmarks/recipe_speed.py --task lm --max-steps 150
    python benchmarks/recipe_speed.py --repeats 3 --set reset_after=true
    python benchmarks/recipe_speed.py --adamw both   # and textgru with Keras's AdamW

The recipes train with `textgru.training.FusedAdamW`; `--adamw keras` trains
both layers with `keras.optimizers.AdamW` instead (the same numbers,
unfused), and `--adamw both` adds a third run per repeat, textgru.GRU with
Keras's AdamW, to measure in the same run what the fused optimizer saves.
"""

import argparse
import contextlib
import json
import os
import statistics
import tempfile
from pathlib import Path
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from textgru.tasks import ClassifierConfig, LanguageModelConfig  # noqa: E402
from textgru.tasks.classification import train_classifier  # noqa: E402
from textgru.tasks.language_modeling import train_language_model  # noqa: E402
from textgru.training import optimizers  # noqa: E402

LAYERS = ("textgru", "keras")
UNFUSED = "textgru (keras AdamW)"
TASKS = {
    "classify": (ClassifierConfig, train_classifier),
    "lm": (LanguageModelConfig, train_language_model),
}


def _summary(task, metrics):
    if task == "lm":
        return f"test loss {metrics['test']['loss_nats_per_token']:.4f} nats/token"
    return f"test accuracy {metrics['test']['accuracy']:.4f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="classify")
    parser.add_argument("--dataset", help="default: the recipe's own")
    parser.add_argument("--repeats", type=int, default=2, help="runs per layer")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int, help="stop after this many steps")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=JSON",
        help="other ClassifierConfig fields, e.g. reset_after=true",
    )
    parser.add_argument(
        "--adamw",
        choices=("fused", "keras", "both"),
        default="fused",
        help="the recipes' FusedAdamW, keras.optimizers.AdamW, or both (above)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}

    config_class, train = TASKS[args.task]
    if args.dataset:
        overrides["dataset"] = args.dataset
    if args.max_steps:
        overrides["max_steps"] = args.max_steps
    # (name, GRU layer, Keras's AdamW rather than the fused one)
    arms = [(layer, layer, args.adamw == "keras") for layer in LAYERS]
    if args.adamw == "both":
        arms.insert(1, (UNFUSED, "textgru", True))
    seconds = {name: [] for name, _, _ in arms}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for arm, (name, layer, keras_adamw) in enumerate(arms):
                config = config_class(
                    out=str(Path(tmp) / f"run-{repeat}-{arm}"),
                    epochs=args.epochs,
                    patience=args.epochs + 1,
                    gru_layer=layer,
                    **overrides,
                )
                with _adamw(keras_adamw):
                    run = train(config, verbose=0)
                fit_seconds = run.metrics["train_seconds"]
                seconds[name].append(fit_seconds)
                print(
                    f"{name:21} run {repeat + 1}: fit {fit_seconds:.1f} s, "
                    f"{_summary(args.task, run.metrics)}"
                )
    medians = {layer: statistics.median(values) for layer, values in seconds.items()}
    ratio = medians["keras"] / medians["textgru"]
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"{os.cpu_count()} CPUs; task {args.task}, {config.dataset}, "
        f"{args.epochs} epochs, max steps {config.max_steps}, "
        f"{args.repeats} runs per layer"
    )
    print(
        f"fit seconds, median: textgru.GRU {medians['textgru']:.1f}, "
        f"keras.layers.GRU {medians['keras']:.1f}; textgru is {ratio:.2f}x as fast"
    )
    if UNFUSED in medians:
        saved = medians[UNFUSED] / medians["textgru"]
        print(
            f"textgru.GRU with keras.optimizers.AdamW {medians[UNFUSED]:.1f}; "
            f"with FusedAdamW {saved:.2f}x as fast"
        )
    result = {
        "args": vars(args),
        "seconds": seconds,
        "medians": medians,
        "ratio": ratio,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _adamw(keras_adamw):
    """Within it, the recipes train with keras.optimizers.AdamW if asked."""
    if not keras_adamw:
        return contextlib.nullcontext()
    return mock.patch.object(optimizers, "FusedAdamW", keras.optimizers.AdamW)


if __name__ == "__main__":
    main()
