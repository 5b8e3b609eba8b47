"""Held-out loss of the default character language model against wall time,
and a parity check of textgru.GRU against keras.layers.GRU in real training.

1. The default recipe (`textgru train lm`, `LanguageModelConfig`) on
   `shakespeare`: validation loss per epoch with the wall time so far (from
   the run's history.csv), then test loss, perplexity and bits per character
   on the held-out works.
2. Parity: the same recipe cut to `--parity-steps` optimizer steps, once with
   `textgru.GRU` and once with `keras.layers.GRU`; the held-out losses should
   agree within 0.02 nats.

    python benchmarks/lm_quality.py                       # about 30 minutes on 2 cores
    python benchmarks/lm_quality.py --skip-default --parity-steps 300
"""

import argparse
import json
import math
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textgru.tasks import LanguageModelConfig  # noqa: E402
from textgru.tasks.language_modeling import train_language_model  # noqa: E402
from textgru.training import run_directory  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402


def default_recipe(workdir, overrides):
    config = LanguageModelConfig(out=os.path.join(workdir, "default"), **overrides)
    run = train_language_model(config, verbose=2)
    history = run_directory.read_history(run.path / "history.csv")
    print(
        "\n| epoch | wall time | train loss | validation loss (nats/char) | bits/char |"
    )
    print("|---|---|---|---|---|")
    for row in history:
        val = float(row["val_loss"])
        print(
            f"| {int(row['epoch']) + 1} | {float(row['seconds']) / 60:.1f} min | "
            f"{float(row['loss']):.3f} | {val:.3f} | {val / math.log(2):.3f} |"
        )
    test = run.metrics["test"]
    works = ", ".join(run.metrics.get("held_out_works", {}).get("test", []))
    print(
        f"\ntest (held-out works: {works}): "
        f"{test['loss_nats_per_token']:.3f} nats/token, "
        f"perplexity {test['perplexity']:.2f}, "
        f"{test['bits_per_character']:.3f} bits/char; "
        f"{run.metrics['optimizer_steps']} optimizer steps"
    )
    print("\n" + (run.path / "samples.txt").read_text(encoding="utf-8"))
    return {"history": history, "metrics": run.metrics}


def parity(workdir, steps, overrides):
    results = {}
    for layer in ("textgru", "keras"):
        settings = {**overrides, "max_steps": steps, "gru_layer": layer, "samples": 0}
        config = LanguageModelConfig(
            out=os.path.join(workdir, f"parity-{layer}"), **settings
        )
        run = train_language_model(config, verbose=0)
        results[layer] = {
            "validation": run.metrics["validation"]["loss_nats_per_token"],
            "test": run.metrics["test"]["loss_nats_per_token"],
            "train_seconds": run.metrics["train_seconds"],
        }
    print(f"\n| GRU layer ({steps} steps) | validation nats | test nats | train time |")
    print("|---|---|---|---|")
    for layer, r in results.items():
        print(
            f"| {layer} | {r['validation']:.4f} | {r['test']:.4f} | "
            f"{r['train_seconds']:.0f} s |"
        )
    gap = abs(results["textgru"]["test"] - results["keras"]["test"])
    print(f"\ntest-loss difference: {gap:.4f} nats (target: within 0.02)")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parity-steps", type=int, default=600)
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="LanguageModelConfig overrides, e.g. epochs=1",
    )  # fmt: skip
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        if not args.skip_default:
            results["default"] = default_recipe(workdir, overrides)
        if args.parity_steps:
            results["parity"] = parity(workdir, args.parity_steps, overrides)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
