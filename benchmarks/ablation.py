"""The classification recipe's regularizers, each alone and combined.

Each variant is the default `ClassifierConfig` with some fields changed
(`NAME:FIELD=JSON,FIELD=JSON`); every variant trains once per seed on the
seeded split of `benchmarks/quality.py`, is early-stopped and picked on
validation, and scores test once. Prints validation and test accuracy (mean ±
standard deviation over the seeds) and training time per run.

Two ways to combine models are measured after training, without a flag of
their own: `--ensemble` adds each variant's ensemble of its seeds (the mean of
their probabilities: one figure, at the training and inference cost of all
the seeds together), and `--averaging` the accuracy of each run's weights
averaged over its epochs from the second to the last (stochastic weight
averaging over epochs, Izmailov et al. 2018), against its best epoch.

    python benchmarks/ablation.py                                 # the table
    python benchmarks/ablation.py --datasets trec --variants default \\
        "stronger:adversarial=0.3" --ensemble --averaging
"""

import argparse
import json
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from textgru.tasks import ClassifierConfig  # noqa: E402
from textgru.tasks.classification import CLASSIFY, train_classifier  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402

# Each regularizer alone, then combined. The recipe's default is adversarial
# training (0.2) alone; the first row switches it off.
VARIANTS = [
    "none (the recipe before):adversarial=0",
    "word dropout 0.1:adversarial=0,word_dropout=0.1",
    "label smoothing 0.1:adversarial=0,label_smoothing=0.1",
    "adversarial 0.2 (default)",
    "adversarial 0.2 + word dropout 0.1:word_dropout=0.1",
    "adversarial 0.2 + word dropout 0.1 + label smoothing 0.1:word_dropout=0.1,"
    "label_smoothing=0.1",
]
SPLITS = ("validation", "test")


def variant(text):
    """`NAME:FIELD=JSON,...` (or a bare name: the default) as (name, overrides)."""
    name, _, settings = text.partition(":")
    pairs = [s for s in settings.split(",") if s]
    return name, parse_overrides(pairs)


class EpochWeights(keras.callbacks.Callback):
    """Keeps a copy of the weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def accuracies(run, data):
    """Validation and test accuracy of the run's model, and its probabilities."""
    out = {}
    for split in ("validation", "test"):
        probabilities = run.predict_proba(data[split]["text"])
        labels = np.asarray(data[split]["label"])
        out[split] = (float((probabilities.argmax(1) == labels).mean()), probabilities)
    return out


def run_variant(dataset, overrides, seeds, workdir, averaging=False):
    rows, probabilities = [], []
    for seed in seeds:
        config = ClassifierConfig(
            dataset=dataset,
            out=os.path.join(workdir, f"{dataset}-{seed}"),
            seed=seed,
            overwrite=True,
            **overrides,
        )
        epochs = EpochWeights()
        run = train_classifier(
            config, callbacks=[epochs] if averaging else (), verbose=0
        )
        metrics = run.metrics
        row = {
            "seed": seed,
            "validation": metrics["validation"]["accuracy"],
            "test": metrics["test"]["accuracy"],
            "epochs": metrics["epochs_run"],
            "seconds": metrics["train_seconds"],
        }
        data = CLASSIFY.load_data(config)
        scored = accuracies(run, data)
        probabilities.append({k: v[1] for k, v in scored.items()})
        if averaging:
            kept = epochs.weights[1:] or epochs.weights  # a one-epoch run: itself
            run.model.set_weights(
                [np.mean(ws, axis=0) for ws in zip(*kept, strict=True)]
            )
            averaged = accuracies(run, data)
            row["averaged"] = {k: v[0] for k, v in averaged.items()}
        rows.append(row)
    ensemble = {}
    for split in ("validation", "test"):
        mean = np.mean([p[split] for p in probabilities], axis=0)
        labels = np.asarray(data[split]["label"])
        ensemble[split] = float((mean.argmax(1) == labels).mean())
    return rows, ensemble


def _cell(values):
    """Mean ± standard deviation, in percent."""
    values = list(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.1f}% ± {100 * spread:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["rotten_tomatoes"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--variants", nargs="+", default=VARIANTS, metavar="NAME:FIELD=JSON,...",
        help="the rows; `default` alone is the recipe as it is",
    )  # fmt: skip
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="ClassifierConfig overrides for every variant, e.g. epochs=1",
    )  # fmt: skip
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="add the ensemble of each variant's seeds",
    )
    parser.add_argument(
        "--averaging", action="store_true",
        help="add each variant with its weights averaged over epochs 2 to last",
    )  # fmt: skip
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results = []
    print("| dataset | variant | validation accuracy | test accuracy | epochs | "
          "training time per run |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as workdir:
        for dataset in args.datasets:
            for text in args.variants:
                name, overrides = variant(text)
                overrides = {**parse_overrides(args.set), **overrides}
                rows, ensemble = run_variant(
                    dataset, overrides, args.seeds, workdir, args.averaging
                )
                epochs = "/".join(str(r["epochs"]) for r in rows)
                seconds = statistics.fmean(r["seconds"] for r in rows)
                val, test = (_cell(r[split] for r in rows) for split in SPLITS)
                print(
                    f"| {dataset} | {name} | {val} | {test} | {epochs} "
                    f"| {seconds:.0f} s |",
                    flush=True,
                )
                if args.averaging:
                    print(
                        f"| {dataset} | {name}, weights averaged over epochs 2 to last "
                        f"| {_cell(r['averaged']['validation'] for r in rows)} "
                        f"| {_cell(r['averaged']['test'] for r in rows)} | {epochs} "
                        f"| {seconds:.0f} s |",
                        flush=True,
                    )
                if args.ensemble:
                    print(
                        f"| {dataset} | {name}, ensemble of the {len(rows)} seeds "
                        f"| {100 * ensemble['validation']:.1f}% "
                        f"| {100 * ensemble['test']:.1f}% | {epochs} "
                        f"| {len(rows) * seconds:.0f} s (all seeds) |",
                        flush=True,
                    )
                results.append(
                    {
                        "dataset": dataset,
                        "variant": name,
                        "overrides": overrides,
                        "runs": rows,
                        "ensemble": ensemble,
                    }  # fmt: skip
                )
                if args.json:
                    with open(args.json, "w") as file:
                        json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
