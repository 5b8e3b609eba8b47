"""Data-parallel training against one device: the same recipe, the same global
batch, on each backend.

Runs `textgru train classify` (the sentiment recipe on rotten_tomatoes by
default) for the same epochs (early stopping off) as:

- TensorFlow, one device, and `--distribute mirrored --devices N` (on a host
  with no GPU, N logical CPU devices);
- JAX, one process, and `textgru launch --num-processes N -- ... --distribute
  multi-host` (N processes on loopback, one CPU device each).

Each run is a process of its own (devices and a JAX cluster are set up once
per process). Prints each run's `fit` seconds (from its metrics.json), its
ratio to one device on the same backend, and its test accuracy. On one
machine the replicas share its cores, so this measures what data
parallelism costs here, not what more machines would give.

    python benchmarks/distribute.py                  # 3 epochs, 2 replicas
    python benchmarks/distribute.py --epochs 1 --set dataset=sms_spam
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from textgru.training.config import as_flags, parse_overrides


def _run(command, backend, out):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return json.loads((out / "metrics.json").read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=JSON",
        help="other `textgru train classify` flags, e.g. batch_size=128",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    flags = ["--epochs", str(args.epochs), "--patience", str(args.epochs)]
    flags += as_flags(parse_overrides(args.set))
    textgru = [sys.executable, "-m", "textgru.cli"]
    n = str(args.replicas)
    mirrored = ["--distribute", "mirrored", "--devices", n]
    setups = [
        ("tensorflow", "one device", []),
        ("tensorflow", f"mirrored, {n} devices", mirrored),
        ("jax", "one process", []),
        ("jax", f"multi-host, {n} processes", ["--distribute", "multi-host"]),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (backend, name, extra) in enumerate(setups):
            out = Path(tmp) / f"run{number}"
            train = ["train", "classify", *flags, *extra, "--out", str(out)]
            if "multi-host" in extra:
                command = [*textgru, "launch", "--num-processes", n, "--", *train]
            else:
                command = [*textgru, *train]
            metrics = _run(command, backend, out)
            rows.append(
                {
                    "backend": backend,
                    "setup": name,
                    "fit_seconds": metrics["train_seconds"],
                    "epochs": metrics["epochs_run"],
                    "test_accuracy": metrics["test"]["accuracy"],
                }
            )
            print(
                f"{backend:<10} {name:<24} {metrics['train_seconds']:>7.1f} s",
                flush=True,
            )
    single = {row["backend"]: row["fit_seconds"] for row in rows[::2]}
    print(f"\n| backend | setup | fit seconds ({args.epochs} epochs) | ", end="")
    print("vs one device | test accuracy |")
    print("|---|---|---|---|---|")
    for row in rows:
        ratio = single[row["backend"]] / row["fit_seconds"]
        row["speed_vs_one"] = round(ratio, 2)
        print(
            f"| {row['backend']} | {row['setup']} | {row['fit_seconds']:.1f} | "
            f"{ratio:.2f}x | {row['test_accuracy']:.1%} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
