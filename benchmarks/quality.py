"""Accuracy of the default classification recipe against the classic baseline.

On each dataset's seeded 80/10/10 split (the same split for every model):

- textgru: `textgru train classify` with the default `TrainConfig`;
- keras GRU: the same recipe with `keras.layers.GRU` in place of `textgru.GRU`
  (`--gru-layer keras`), a parity check of the layer in real training;
- TF-IDF LR: TF-IDF of word uni- and bigrams with logistic regression
  (scikit-learn), its C chosen on the validation split.

Prints test accuracy, test macro-F1 and wall time. Model choices are made on
validation only; the test split is only ever scored.

    python benchmarks/quality.py                        # all three datasets
    python benchmarks/quality.py --datasets rotten_tomatoes --json quality.json
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textgru.classification import train_classifier  # noqa: E402
from textgru.data import load_dataset  # noqa: E402
from textgru.evaluation import classification_report  # noqa: E402
from textgru.training import TrainConfig  # noqa: E402


def tfidf_logistic_regression(data):
    """The classic baseline, its settings and C chosen on the validation split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    train, val = data["train"], data["validation"]
    best = None
    for sublinear_tf in (True, False):
        for min_df in (1, 2):
            vectorizer = TfidfVectorizer(
                ngram_range=(1, 2), sublinear_tf=sublinear_tf, min_df=min_df
            )
            features = vectorizer.fit_transform(train["text"])
            val_features = vectorizer.transform(val["text"])
            for c in (1, 4, 16, 32, 64, 128):
                model = LogisticRegression(C=c, max_iter=3000)
                model.fit(features, train["label"])
                score = model.score(val_features, val["label"])
                if best is None or score > best[0]:
                    setting = f"C={c}, sublinear_tf={sublinear_tf}, min_df={min_df}"
                    best = (score, setting, vectorizer, model)
    _, setting, vectorizer, model = best
    predicted = model.predict(vectorizer.transform(data["test"]["text"]))
    names = train.features["label"].names
    report = classification_report(data["test"]["label"], predicted, names)
    return report, time.perf_counter() - start, setting


def recipe(dataset, gru_layer, workdir, overrides):
    start = time.perf_counter()
    config = TrainConfig(
        dataset=dataset, out=os.path.join(workdir, f"{dataset}-{gru_layer}"),
        gru_layer=gru_layer, **overrides,
    )  # fmt: skip
    run = train_classifier(config, verbose=0)
    epochs = run.metrics["epochs_run"]
    return run.metrics["test"], time.perf_counter() - start, f"{epochs} epochs"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["rotten_tomatoes", "trec", "sms_spam"]
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=JSON",
        help="TrainConfig overrides for both GRU recipes, e.g. epochs=1",
    )  # fmt: skip
    args = parser.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for dataset in args.datasets:
            data = load_dataset(dataset)
            runs = [
                ("textgru", *recipe(dataset, "textgru", workdir, overrides)),
                ("keras GRU", *recipe(dataset, "keras", workdir, overrides)),
                ("TF-IDF LR", *tfidf_logistic_regression(data)),
            ]
            for name, report, seconds, note in runs:
                rows.append(
                    {
                        "dataset": dataset,
                        "model": name,
                        "test_accuracy": round(report["accuracy"], 4),
                        "test_macro_f1": round(report["macro_f1"], 4),
                        "wall_seconds": round(seconds, 1),
                        "note": note,
                    }
                )
    print("| dataset | model | test accuracy | test macro-F1 | wall time | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['dataset']} | {r['model']} | {100 * r['test_accuracy']:.1f}% | "
            f"{r['test_macro_f1']:.3f} | {r['wall_seconds']:.0f} s | {r['note']} |"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file, indent=2)


if __name__ == "__main__":
    main()
