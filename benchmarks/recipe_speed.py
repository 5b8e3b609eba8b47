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
"""

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from textgru.tasks import ClassifierConfig, LanguageModelConfig  # noqa: E402
from textgru.tasks.classification import train_classifier  # noqa: E402
from textgru.tasks.language_modeling import train_language_model  # noqa: E402

LAYERS = ("textgru", "keras")
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
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}

    config_class, train = TASKS[args.task]
    if args.dataset:
        overrides["dataset"] = args.dataset
    if args.max_steps:
        overrides["max_steps"] = args.max_steps
    seconds = {layer: [] for layer in LAYERS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for layer in LAYERS:
                config = config_class(
                    out=str(Path(tmp) / f"{layer}-{repeat}"),
                    epochs=args.epochs,
                    patience=args.epochs + 1,
                    gru_layer=layer,
                    **overrides,
                )
                run = train(config, verbose=0)
                fit_seconds = run.metrics["train_seconds"]
                seconds[layer].append(fit_seconds)
                print(
                    f"{layer:8} run {repeat + 1}: fit {fit_seconds:.1f} s, "
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
    result = {
        "args": vars(args),
        "seconds": seconds,
        "medians": medians,
        "ratio": ratio,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
