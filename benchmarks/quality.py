"""Accuracy of the default classification recipe against the classic baseline.

On each dataset's seeded 80/10/10 split (the same split for every model):

- textgru: `textgru train classify` with the default `ClassifierConfig`;
- keras GRU: the same recipe with `keras.layers.GRU` in place of `textgru.GRU`
  (`--gru-layer keras`), a parity check of the layer in real training;
- TF-IDF LR: TF-IDF of word uni- and bigrams with logistic regression
  (scikit-learn), its C chosen on the validation split.

Prints test accuracy and macro-F1 (mean ± standard deviation over seeds for the
GRU recipes) and wall time per run. Model choices are made on validation only;
the test split is only ever scored.

    python benchmarks/quality.py                        # all three datasets
    python benchmarks/quality.py --datasets rotten_tomatoes --json quality.json

With `--regression`, the regression recipe (`textgru train regress`, the
default `RegressionConfig`) against TF-IDF with ridge regression (its alpha
chosen on validation) on the rated sets (tweets_rating, amazon_rating,
nyt_rating): test Pearson r, Spearman and MAE, mean ± standard deviation
over the seeds.

    python benchmarks/quality.py --regression

With `--models`, other rows (each on the same split, over the seeds):
`glove` (the recipe with `embeddings="glove-6b-50d"`, `embed_dim=50`),
`distilled` (`teacher="minilm"`: the GRU trained on a fine-tuned MiniLM's
soft labels), `distilled-glove` (both), `teacher` (the fine-tuned MiniLM
itself: one teacher per dataset, shared by the seeds, so one figure),
`tfidf-minilm` (TF-IDF features beside frozen mean-pooled MiniLM
sentence embeddings, logistic regression, C chosen on validation). Each run
prints a line as it ends (`--set` applies to every GRU row).

    python benchmarks/quality.py --models textgru glove distilled teacher \
        tfidf tfidf-minilm
"""

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textgru.data import Numbers, load_dataset  # noqa: E402
from textgru.tasks import ClassifierConfig  # noqa: E402
from textgru.tasks.classification import train_classifier  # noqa: E402
from textgru.tasks.metrics import (  # noqa: E402
    classification_report,
    regression_report,
)
from textgru.tasks.regression import RegressionConfig, train_regressor  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402


def _tfidf_search(data, column, models, score):
    """TF-IDF of word uni- and bigrams with the best of `models` (name ->
    a new scikit-learn estimator) and TF-IDF settings on the validation
    split by `score(model, features, values)`; returns `(setting,
    vectorizer, model)` fitted on train."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    train, val = data["train"], data["validation"]
    best = None
    for sublinear_tf in (True, False):
        for min_df in (1, 2):
            vectorizer = TfidfVectorizer(
                ngram_range=(1, 2), sublinear_tf=sublinear_tf, min_df=min_df
            )
            features = vectorizer.fit_transform(train["text"])
            val_features = vectorizer.transform(val["text"])
            for name, make in models.items():
                model = make().fit(features, train[column])
                value = score(model, val_features, val[column])
                if best is None or value > best[0]:
                    setting = f"{name}, sublinear_tf={sublinear_tf}, min_df={min_df}"
                    best = (value, setting, vectorizer, model)
    return best[1:]


def tfidf_logistic_regression(data):
    """The classic baseline, its settings and C chosen on the validation split."""
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    train = data["train"]
    models = {
        f"C={c}": (lambda c=c: LogisticRegression(C=c, max_iter=3000))
        for c in (1, 4, 16, 32, 64, 128)
    }
    setting, vectorizer, model = _tfidf_search(
        data, "label", models, lambda m, x, y: m.score(x, y)
    )
    predicted = model.predict(vectorizer.transform(data["test"]["text"]))
    names = train.features["label"].names
    report = classification_report(data["test"]["label"], predicted, names)
    return report, time.perf_counter() - start, setting


# The GRU rows of `--models`: their config fields beside the defaults.
GLOVE = {"embeddings": "glove-6b-50d", "embed_dim": 50}
RECIPES = {
    "textgru": {},
    "keras": {"gru_layer": "keras"},
    "glove": GLOVE,
    "distilled": {"teacher": "minilm"},
    "distilled-glove": {"teacher": "minilm", **GLOVE},
}
NAMES = {
    "textgru": "textgru",
    "keras": "keras GRU",
    "glove": "textgru + GloVe",
    "distilled": "distilled from MiniLM",
    "distilled-glove": "distilled from MiniLM + GloVe",
    "teacher": "MiniLM teacher (fine-tuned)",
    "tfidf": "TF-IDF LR",
    "tfidf-minilm": "TF-IDF + MiniLM features LR",
}


def recipe(dataset, model, workdir, overrides, seeds, runs=None):
    """The default recipe with the fields of `RECIPES[model]` once per seed;
    the report of each run (and each finished run into `runs`)."""
    reports, start = [], time.perf_counter()
    for seed in seeds:
        config = ClassifierConfig(
            dataset=dataset,
            out=os.path.join(workdir, f"{os.path.basename(dataset)}-{model}-{seed}"),
            seed=seed, **{**RECIPES[model], **overrides},
        )  # fmt: skip
        run = train_classifier(config, verbose=0)
        test = run.metrics["test"]
        print(
            f"# {dataset} {model} seed {seed}: test accuracy {test['accuracy']:.4f}, "
            f"validation {run.metrics['validation']['accuracy']:.4f}, "
            f"{run.metrics['train_seconds']:.0f} s of training",
            flush=True,
        )
        reports.append((test, run.metrics["epochs_run"]))
        if runs is not None:
            runs.append(run)
    seconds = (time.perf_counter() - start) / len(seeds)
    epochs = "/".join(str(e) for _, e in reports)
    return [r for r, _ in reports], seconds, f"seeds {list(seeds)}; epochs {epochs}"


def teacher_row(runs):
    """The fine-tuned teacher of distilled `runs` (one per dataset: the
    seeds share it): its test report and fine-tuning time."""
    facts = runs[0].teacher
    assert all(run.teacher["key"] == facts["key"] for run in runs)
    report = {"accuracy": facts["test_accuracy"], "macro_f1": facts["test_macro_f1"]}
    note = (
        f"{facts['settings']['epochs']} epochs, validation "
        f"{facts['validation_accuracy']:.4f}; {len(runs)} students share it"
    )
    return [report], facts["fit_seconds"], note


def tfidf_minilm(data):
    """TF-IDF LR with frozen all-MiniLM-L6-v2 sentence embeddings beside the
    TF-IDF features (each embedding scaled to unit length), its settings
    and C chosen on the validation split."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from textgru.teachers.teacher import Teacher

    start = time.perf_counter()
    encoder = Teacher.pretrained(2)
    embedded = {}
    for name in ("train", "validation", "test"):
        vectors = encoder.embed(data[name]["text"])
        embedded[name] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    best = None
    for min_df in (1, 2):
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=min_df
        )
        vectorizer.fit(data["train"]["text"])
        features = {
            name: hstack(
                [vectorizer.transform(data[name]["text"]), csr_matrix(embedded[name])]
            ).tocsr()
            for name in embedded
        }
        for c in (1, 4, 16, 32, 64):
            model = LogisticRegression(C=c, max_iter=3000)
            model.fit(features["train"], data["train"]["label"])
            value = model.score(features["validation"], data["validation"]["label"])
            if best is None or value > best[0]:
                best = (value, f"C={c}, min_df={min_df}", model, features["test"])
    _, setting, model, test = best
    names = data["train"].features["label"].names
    report = classification_report(data["test"]["label"], model.predict(test), names)
    return report, time.perf_counter() - start, setting


REGRESSION_DATASETS = ["tweets_rating", "amazon_rating", "nyt_rating"]


def tfidf_ridge(data):
    """The regression baseline: TF-IDF of word uni- and bigrams with ridge
    regression, its settings and alpha chosen on the validation split (by
    Pearson r)."""
    from sklearn.linear_model import Ridge

    start = time.perf_counter()
    models = {
        f"alpha={alpha}": (lambda alpha=alpha: Ridge(alpha=alpha))
        for alpha in (0.1, 0.3, 1, 3, 10)
    }
    setting, vectorizer, model = _tfidf_search(
        data,
        "target",
        models,
        # A constant prediction has no correlation: the worst score.
        lambda m, x, y: regression_report(y, m.predict(x))["pearson"] or -1.0,
    )
    predicted = model.predict(vectorizer.transform(data["test"]["text"]))
    report = regression_report(data["test"]["target"], predicted)
    return report, time.perf_counter() - start, setting


def regression(args, overrides):
    """The `--regression` table: the recipe per seed against TF-IDF ridge."""
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for dataset in args.datasets or REGRESSION_DATASETS:
            data = load_dataset(dataset, target=Numbers("target"))
            baseline, seconds, setting = tfidf_ridge(data)
            reports, start = [], time.perf_counter()
            for seed in args.seeds:
                config = RegressionConfig(
                    dataset=dataset, seed=seed,
                    out=os.path.join(workdir, f"{dataset}-{seed}"), **overrides,
                )  # fmt: skip
                reports.append(train_regressor(config, verbose=0).metrics["test"])
            per_run = (time.perf_counter() - start) / len(args.seeds)
            for name, found, took, note in (
                ("textgru", reports, per_run, f"seeds {list(args.seeds)}"),
                ("TF-IDF ridge", [baseline], seconds, setting),
            ):
                rows.append(
                    {
                        "dataset": dataset,
                        "model": name,
                        **{
                            measure: [
                                round(v, 4)
                                for v in _summary([r[measure] for r in found])
                            ]
                            for measure in ("pearson", "spearman", "mae")
                        },
                        "runs": len(found),
                        "seconds_per_run": round(took, 1),
                        "note": note,
                    }
                )
    print("| dataset | model | test Pearson r | Spearman | MAE | time per run | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [
            f"{mean:.3f}" + (f" ± {sd:.3f}" if r["runs"] > 1 else "")
            for mean, sd in (r["pearson"], r["spearman"], r["mae"])
        ]
        print(
            f"| {r['dataset']} | {r['model']} | " + " | ".join(cells)
            + f" | {r['seconds_per_run']:.0f} s | {r['note']} |"
        )  # fmt: skip
    return rows


def _summary(values):
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, spread


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        help="default: rotten_tomatoes trec sms_spam (with --regression: "
        + " ".join(REGRESSION_DATASETS)
        + ")",
    )
    parser.add_argument(
        "--regression",
        action="store_true",
        help="the regression recipe against TF-IDF ridge on rated texts",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--models", nargs="+", default=["textgru", "keras", "tfidf"],
        choices=[*RECIPES, "teacher", "tfidf", "tfidf-minilm"],
        help="the rows of the classification table (see above)",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0, 1, 2],
        help="one run of each GRU recipe per seed (mean and standard deviation)",
    )  # fmt: skip
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="config overrides for the GRU recipes, e.g. epochs=1",
    )  # fmt: skip
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    if args.regression:
        rows = regression(args, overrides)
        if args.json:
            with open(args.json, "w") as file:
                json.dump(rows, file, indent=2)
        return rows
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for dataset in args.datasets or ["rotten_tomatoes", "trec", "sms_spam"]:
            data = load_dataset(dataset)
            runs, distilled = [], []
            for model in args.models:
                if model in RECIPES:
                    found = distilled if model == "distilled" else None
                    row = recipe(dataset, model, workdir, overrides, args.seeds, found)
                elif model == "teacher":
                    if not distilled:  # the teacher of a first student
                        where = os.path.join(workdir, "teacher")
                        recipe(dataset, "distilled", where, overrides, [0], distilled)
                    row = teacher_row(distilled)
                elif model == "tfidf":
                    row = tfidf_logistic_regression(data)
                    row = ([row[0]], *row[1:])
                else:
                    row = tfidf_minilm(data)
                    row = ([row[0]], *row[1:])
                runs.append((NAMES[model], *row))
                print(f"# {dataset} {model}: {row[0]}"[:300], flush=True)
            for name, reports, seconds, note in runs:
                accuracy = _summary([r["accuracy"] for r in reports])
                macro_f1 = _summary([r["macro_f1"] for r in reports])
                rows.append(
                    {
                        "dataset": dataset,
                        "model": name,
                        "test_accuracy": [round(v, 4) for v in accuracy],
                        "test_macro_f1": [round(v, 4) for v in macro_f1],
                        "runs": len(reports),
                        "seconds_per_run": round(seconds, 1),
                        "note": note,
                    }
                )
    print(
        "| dataset | model | test accuracy | test macro-F1 | wall time per run | note |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        (acc, acc_sd), (f1, f1_sd) = r["test_accuracy"], r["test_macro_f1"]
        spread = r["runs"] > 1
        print(
            f"| {r['dataset']} | {r['model']} | {100 * acc:.1f}%"
            + (f" ± {100 * acc_sd:.1f}" if spread else "")
            + f" | {f1:.3f}"
            + (f" ± {f1_sd:.3f}" if spread else "")
            + f" | {r['seconds_per_run']:.0f} s | {r['note']} |"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file, indent=2)


if __name__ == "__main__":
    main()
