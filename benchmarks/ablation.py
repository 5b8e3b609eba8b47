"""The classification recipe's regularizers, each alone and combined.

Each variant is the default `ClassifierConfig` with some fields changed
(`NAME:FIELD=JSON,FIELD=JSON`); every variant trains once per seed on the
seeded split of `benchmarks/quality.py`, is early-stopped and picked on
validation, and scores test once. Prints validation and test accuracy (mean ±
standard deviation over the seeds) and training time per run.

    python benchmarks/ablation.py                                 # the table
    python benchmarks/ablation.py --datasets trec --variants default \\
        "adversarial:adversarial=1.0"
"""

import argparse
import json
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textgru.tasks import ClassifierConfig  # noqa: E402
from textgru.tasks.classification import train_classifier  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402

# Each technique of issue 20 alone, then combined (the settings of the rows
# are the ones chosen on rotten_tomatoes validation accuracy).
VARIANTS = [
    "default",
    "word dropout:word_dropout=0.1",
    "label smoothing:label_smoothing=0.1",
    "adversarial:adversarial=1.0",
]


def variant(text):
    """`NAME:FIELD=JSON,...` (or a bare name with no changes) as (name, overrides)."""
    name, _, settings = text.partition(":")
    pairs = [s for s in settings.split(",") if s]
    return name, parse_overrides(pairs)


def run_variant(dataset, overrides, seeds, workdir):
    rows = []
    for seed in seeds:
        config = ClassifierConfig(
            dataset=dataset,
            out=os.path.join(workdir, f"{dataset}-{seed}"),
            seed=seed,
            overwrite=True,
            **overrides,
        )
        run = train_classifier(config, verbose=0)
        metrics = run.metrics
        rows.append(
            {
                "seed": seed,
                "validation": metrics["validation"]["accuracy"],
                "test": metrics["test"]["accuracy"],
                "epochs": metrics["epochs_run"],
                "seconds": metrics["train_seconds"],
            }
        )
    return rows


def mean_sd(values):
    values = list(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), spread


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["rotten_tomatoes"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--variants", nargs="+", default=VARIANTS, metavar="NAME:FIELD=JSON,...",
        help="the rows; `default` alone is the recipe as it is",
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
                rows = run_variant(dataset, overrides, args.seeds, workdir)
                val = mean_sd(r["validation"] for r in rows)
                test = mean_sd(r["test"] for r in rows)
                print(
                    f"| {dataset} | {name} | {100 * val[0]:.1f}% ± {100 * val[1]:.1f} "
                    f"| {100 * test[0]:.1f}% ± {100 * test[1]:.1f} | "
                    f"{'/'.join(str(r['epochs']) for r in rows)} | "
                    f"{statistics.fmean(r['seconds'] for r in rows):.0f} s |",
                    flush=True,
                )
                results.append(
                    {"dataset": dataset, "variant": name, "overrides": overrides,
                     "runs": rows}  # fmt: skip
                )
                if args.json:
                    with open(args.json, "w") as file:
                        json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
