"""End to end: the sentiment recipe's training time with textgru.GRU against
the same recipe with keras.layers.GRU.

Trains the default `textgru train classify` recipe (rotten_tomatoes, word
tokenizer, bidirectional GRU(128), batch 64, length bucketing) with each
layer, alternating, a fixed number of epochs (early stopping off, so both do
the same steps), and prints the `fit` seconds of each run (from the run's
metrics), their medians and the ratio.

    python benchmarks/recipe_speed.py                  # 2 runs each, 2 epochs
    python benchmarks/recipe_speed.py --repeats 3 --epochs 4 --json out.json
"""

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from textgru.classification import train_classifier  # noqa: E402
from textgru.training import ClassifierConfig  # noqa: E402

LAYERS = ("textgru", "keras")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="rotten_tomatoes")
    parser.add_argument("--repeats", type=int, default=2, help="runs per layer")
    parser.add_argument("--epochs", type=int, default=2)
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

    seconds = {layer: [] for layer in LAYERS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for layer in LAYERS:
                config = ClassifierConfig(
                    dataset=args.dataset,
                    out=str(Path(tmp) / f"{layer}-{repeat}"),
                    epochs=args.epochs,
                    patience=args.epochs + 1,
                    gru_layer=layer,
                    **overrides,
                )
                run = train_classifier(config, verbose=0)
                fit_seconds = run.metrics["train_seconds"]
                seconds[layer].append(fit_seconds)
                print(
                    f"{layer:8} run {repeat + 1}: fit {fit_seconds:.1f} s, "
                    f"test accuracy {run.metrics['test']['accuracy']:.4f}"
                )
    medians = {layer: statistics.median(values) for layer, values in seconds.items()}
    ratio = medians["keras"] / medians["textgru"]
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"{os.cpu_count()} CPUs; {args.dataset}, {args.epochs} epochs, "
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
