"""The shipped cells in the sentiment recipe: accuracy and training speed.

The default `ClassifierConfig` (the `make run` recipe) with each cell,
`GRUCell` (the stock GRU, on textgru's fast loop where it can run),
`MGUCell` and `LayerNormGRUCell` (plain loop), once per seed, on the dataset's
seeded 80/10/10 split (the split of `benchmarks/quality.py`). The cells take
turns within each seed, so a slow spell of the machine hits all of them.

Prints test accuracy (mean ± standard deviation over seeds), validation
accuracy, parameters, epochs, and training seconds per epoch, with its ratio
to `GRUCell`'s measured in the same run (median over seeds).

    python benchmarks/cells.py                       # rotten_tomatoes, seeds 0 1 2
    python benchmarks/cells.py --dataset trec --json cells.json
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

CELLS = (
    "textgru.layers:GRUCell",
    "textgru.layers:MGUCell",
    "textgru.layers:LayerNormGRUCell",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="rotten_tomatoes")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cells", nargs="+", default=list(CELLS))
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="ClassifierConfig overrides for every run, e.g. epochs=1",
    )  # fmt: skip
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    runs = {cell: [] for cell in args.cells}
    with tempfile.TemporaryDirectory() as workdir:
        for seed in args.seeds:
            for index, cell in enumerate(args.cells):
                config = ClassifierConfig(
                    dataset=args.dataset, cell=cell, seed=seed,
                    out=os.path.join(workdir, f"{index}-{seed}"), **overrides,
                )  # fmt: skip
                metrics = train_classifier(config, verbose=0).metrics
                runs[cell].append(metrics)
                print(
                    f"seed {seed} {cell}: test {metrics['test']['accuracy']:.4f}, "
                    f"{metrics['train_seconds']:.0f} s",
                    flush=True,
                )
    rows = []
    for cell, metrics in runs.items():
        per_epoch = [m["train_seconds"] / m["epochs_run"] for m in metrics]
        test = [m["test"]["accuracy"] for m in metrics]
        rows.append(
            {
                "dataset": args.dataset,
                "cell": cell.split(":")[-1],
                "test_accuracy": round(statistics.fmean(test), 4),
                "test_accuracy_sd": round(
                    statistics.stdev(test) if len(test) > 1 else 0.0, 4
                ),
                "validation_accuracy": round(
                    statistics.fmean(m["validation"]["accuracy"] for m in metrics), 4
                ),
                "parameters": metrics[0]["num_parameters"],
                "epochs": [m["epochs_run"] for m in metrics],
                "seconds_per_epoch": round(statistics.median(per_epoch), 1),
            }
        )
    reference = rows[0]["seconds_per_epoch"]
    print(
        "\n| cell | test accuracy | validation accuracy | parameters | epochs "
        f"| s / epoch | speed vs {rows[0]['cell']} |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        row["speed_vs_first"] = round(reference / row["seconds_per_epoch"], 2)
        print(
            f"| {row['cell']} | {100 * row['test_accuracy']:.1f}% ± "
            f"{100 * row['test_accuracy_sd']:.1f} | "
            f"{100 * row['validation_accuracy']:.1f}% | {row['parameters']:,} | "
            f"{'/'.join(map(str, row['epochs']))} | {row['seconds_per_epoch']:.1f} "
            f"| {row['speed_vs_first']:.2f}x |"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file, indent=2)


if __name__ == "__main__":
    main()
