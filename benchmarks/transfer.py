"""The transfer ablation: what each step of ULMFiT-style transfer adds.

On each dataset's seeded 80/10/10 split (the same as benchmarks/quality.py):

1. TF-IDF LR: word uni+bigrams, logistic regression, C chosen on validation;
2. from scratch: the default recipe (`ClassifierConfig`: bidirectional GRU);
3. + LM pretraining: a classifier from the general pretrained language model
   (`textgru.tasks.transfer.pretraining_config`, on the unlabelled built-in
   corpora), every layer trained at once at one rate (2e-3, as from scratch);
4. + LM fine-tuning: the same, from that model after fine-tuning it on the
   task's own training texts (`lm_fine_tuning_config`);
5. + gradual unfreezing and discriminative rates: `TransferConfig` as is.

Every classifier is picked on validation (early stopping on val_loss) and
scored once on test. Wall times are per run on this machine; pretraining is
done once and cached (`textgru.tasks.transfer.pretrained_language_model`).

    python benchmarks/transfer.py                       # all three datasets
    python benchmarks/transfer.py --datasets trec --json transfer.json
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from quality import tfidf_logistic_regression  # noqa: E402

from textgru.data import load_dataset  # noqa: E402
from textgru.tasks import (  # noqa: E402
    ClassifierConfig,
    TransferConfig,
    transfer,  # noqa: E402
)
from textgru.tasks.classification import train_classifier  # noqa: E402
from textgru.tasks.language_modeling import train_language_model  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def ablation(dataset, workdir, seed, pretrained, overrides):
    """The rows of one dataset: (step, test report, seconds, note).
    `overrides` (field -> value) go into every config (for quick trials)."""
    rows = []
    baseline, seconds, setting = tfidf_logistic_regression(load_dataset(dataset))
    rows.append(("TF-IDF LR", baseline, None, seconds, setting))
    out = workdir / Path(dataset).stem
    run, seconds = _timed(
        train_classifier,
        ClassifierConfig(
            dataset=dataset, seed=seed, out=str(out / "scratch"), **overrides
        ),
        verbose=0,
    )
    rows.append(("from scratch (bidirectional GRU)", *_scores(run), seconds,
                 f"{run.metrics['epochs_run']} epochs"))  # fmt: skip
    # One stage, one rate for every layer: the from-scratch recipe's rate.
    at_once = {"freeze_epochs": 0, "lr_decay": 1.0, "learning_rate": 2e-3}
    at_once.update(seed=seed, **overrides)

    def from_lm(lm_path, name, **settings):
        config = TransferConfig(
            dataset=dataset, from_lm=str(lm_path), out=str(out / name), **settings
        )
        return _timed(train_classifier, config, verbose=0)

    run, seconds = from_lm(pretrained.path, "pretrained", **at_once)
    note = f"{run.metrics['epochs_run']} epochs, all layers at once"
    rows.append(("+ LM pretraining", *_scores(run), seconds, note))
    lm, lm_seconds = _timed(
        train_language_model,
        transfer.lm_fine_tuning_config(
            dataset, pretrained.path, out=str(out / "lm"), seed=seed, **overrides
        ),
        verbose=0,
    )
    lm_loss = lm.metrics["validation"]["loss_nats_per_token"]
    run, seconds = from_lm(lm.path, "fine-tuned", **at_once)
    rows.append(("+ LM fine-tuning on the task's texts", *_scores(run), seconds,
                 f"{run.metrics['epochs_run']} epochs; LM fine-tuning "
                 f"{lm_seconds:.0f} s, val {lm_loss:.3f} nats/piece"))  # fmt: skip
    run, seconds = from_lm(lm.path, "transfer", seed=seed, **overrides)
    rows.append(("+ gradual unfreezing, discriminative rates", *_scores(run),
                 seconds, f"{run.metrics['epochs_run']} epochs"))  # fmt: skip
    return [
        {
            "dataset": dataset,
            "step": step,
            "validation_accuracy": None if val is None else round(val, 4),
            "test_accuracy": round(report["accuracy"], 4),
            "test_macro_f1": round(report["macro_f1"], 4),
            "seconds": round(seconds, 1),
            "note": note,
        }
        for step, report, val, seconds, note in rows
    ]


def _scores(run):
    """The test report and the validation accuracy of a classifier run."""
    return run.metrics["test"], run.metrics["validation"]["accuracy"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["rotten_tomatoes", "trec", "sms_spam"]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="runs/transfer-ablation")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="overrides for every config, e.g. epochs=1 (quick trials only)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    pretrained, seconds = _timed(transfer.pretrained_language_model, verbose=0)
    pretraining = pretrained.metrics
    print(
        f"pretrained LM {pretrained.path}: "
        f"trained {pretraining['train_seconds']:.0f} s "
        f"({pretraining['epochs_run']} epochs), validation "
        f"{pretraining['validation']['loss_nats_per_token']:.3f} nats/piece; "
        f"loaded in {seconds:.0f} s"
    )
    rows = []
    for dataset in args.datasets:
        workdir = Path(args.workdir)
        rows += ablation(dataset, workdir, args.seed, pretrained, overrides)
        print(json.dumps(rows[-5:], indent=1), flush=True)
    print(
        "| dataset | step | validation accuracy | test accuracy | test macro-F1 "
        "| wall time | note |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        val = r["validation_accuracy"]
        val = "—" if val is None else f"{100 * val:.1f}%"
        print(
            f"| {r['dataset']} | {r['step']} | {val} | "
            f"{100 * r['test_accuracy']:.1f}% | "
            f"{r['test_macro_f1']:.3f} | {r['seconds']:.0f} s | {r['note']} |"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"pretraining": pretraining, "rows": rows}, file, indent=2)


if __name__ == "__main__":
    main()
