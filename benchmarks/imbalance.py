"""Imbalanced classes: the classification recipe with and without class
weights, each at a threshold of 0.5 and at one tuned on validation, on
`sms_spam` (13% spam) by default.

Each variant is the default `ClassifierConfig` with some fields changed
(`NAME:FIELD=JSON,...`), trained once per seed on the dataset's own split
with `threshold_metric` set, and scored on the test split at 0.5 and at the
tuned threshold; prints the minority label's precision, recall and F1, the
macro-F1 and accuracy (mean ± standard deviation over the seeds), and the
tuned thresholds.

    python benchmarks/imbalance.py                      # sms_spam, 3 seeds
    python benchmarks/imbalance.py --dataset my.csv --label pos --seeds 0 1
"""

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textgru.tasks import ClassifierConfig, train_classifier  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402

# Each trains once per seed; a decision threshold changes no weights, so
# every run is scored twice on the same model: at 0.5 and at the threshold
# tuned on validation for `--threshold-metric`.
VARIANTS = ["none", "balanced class weights:class_weight=balanced"]
MEASURES = ("precision", "recall", "f1", "macro_f1", "accuracy")


def variant(text):
    """`NAME:FIELD=JSON,...` (a bare name: the recipe as it is)."""
    name, _, settings = text.partition(":")
    return name, parse_overrides([s for s in settings.split(",") if s])


def measures(report, label):
    """The measures of one test report, for the label `label`."""
    own = report["per_class"][label]
    return {
        "precision": own["precision"],
        "recall": own["recall"],
        "f1": own["f1"],
        "macro_f1": report["macro_f1"],
        "accuracy": report["accuracy"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sms_spam")
    parser.add_argument(
        "--label", default="spam", help="the minority label whose scores are shown"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=VARIANTS)
    parser.add_argument(
        "--threshold-metric", default="f1", help="what the threshold is tuned for"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="ClassifierConfig overrides for every variant, e.g. epochs=1",
    )  # fmt: skip
    args = parser.parse_args(argv)
    common = parse_overrides(args.set)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for index, text in enumerate(args.variants):
            name, overrides = variant(text)
            settings = {
                **common,
                **overrides,
                "threshold_metric": args.threshold_metric,
            }
            scored = {"0.5": [], "tuned": []}
            start = time.perf_counter()
            for seed in args.seeds:
                config = ClassifierConfig(
                    dataset=args.dataset, seed=seed, **settings,
                    out=os.path.join(workdir, f"{index}-{seed}"),
                )  # fmt: skip
                run = train_classifier(config, verbose=0)
                tuned = measures(run.metrics["test"], args.label)
                at_half = dataclasses.replace(run, threshold=None).evaluate()
                scored["0.5"].append(
                    {"seed": seed, "threshold": 0.5, **measures(at_half, args.label)}
                )
                scored["tuned"].append(
                    {"seed": seed, "threshold": run.threshold, **tuned}
                )
            seconds = round((time.perf_counter() - start) / len(args.seeds), 1)
            for decision, runs in scored.items():
                results.append(
                    {
                        "variant": f"{name}, threshold {decision}"
                        + (
                            f" ({args.threshold_metric})" if decision == "tuned" else ""
                        ),
                        "overrides": overrides,
                        "runs": runs,
                        "seconds_per_run": seconds,
                    }
                )
    print(
        f"| {args.dataset}, {len(args.seeds)} seeds | {args.label} precision | "
        f"{args.label} recall | {args.label} F1 | macro-F1 | accuracy | thresholds |"
    )
    print("|---|---|---|---|---|---|---|")
    for result in results:
        cells = []
        for measure in MEASURES:
            values = [run[measure] for run in result["runs"]]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{100 * statistics.fmean(values):.1f} ± {100 * spread:.1f}")
        shown = ", ".join(f"{run['threshold']:.2f}" for run in result["runs"])
        print(f"| {result['variant']} | " + " | ".join(cells) + f" | {shown} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
