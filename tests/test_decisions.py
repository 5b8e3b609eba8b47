"""What a classifier decides and how sure it says it is: class weights in
the loss and a binary run's decision threshold (`textgru.tasks.imbalance`),
temperature scaling (`textgru.tasks.calibration`), ROC-AUC, PR-AUC and the
expected calibration error (`textgru.tasks.metrics`), and the file of the
texts a run gets wrong (`evaluate --errors`). Each is recorded in the run
and used alike by predict, evaluate, exports and labelled files."""

import json

import numpy as np
import pytest
from sklearn import metrics as sk
from sklearn.utils.class_weight import compute_class_weight

from tests.cli_output import one_line_error
from tests.tiny import NEGATIVE, NEUTRAL, POSITIVE, TINY
from textgru import _predictions
from textgru.errors import DatasetError, InvalidArgumentError
from textgru.tasks import ClassifierConfig, imbalance

SKLEARN = {
    "f1": sk.f1_score,
    "macro_f1": lambda y, p: sk.f1_score(y, p, average="macro"),
    "balanced_accuracy": sk.balanced_accuracy_score,
    "accuracy": sk.accuracy_score,
}


def test_balanced_weights_are_scikit_learns():
    labels = np.array([0] * 7 + [1] * 2 + [2] * 11)
    ours = imbalance.class_weights("balanced", ["a", "b", "c"], labels)
    theirs = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    given = imbalance.check_class_weight('{"c": 2.5}')
    assert list(imbalance.class_weights(given, ["a", "b", "c"], labels)) == [1, 1, 2.5]
    assert imbalance.class_weights("none", ["a", "b"], labels) is None


@pytest.mark.parametrize(
    "value, says",
    [
        ("heavy", "none, balanced or a JSON object"),
        ("{spam: 2}", "Received: class_weight='{spam: 2}'"),
        ('{"spam": 0}', "finite number > 0"),
        ('{"spam": "2"}', "finite number > 0"),
        ({}, "non-empty mapping"),
    ],
)
def test_bad_class_weights_are_refused(value, says):
    with pytest.raises(InvalidArgumentError, match=says):
        ClassifierConfig(class_weight=value)


def test_class_weights_name_labels_the_data_has():
    with pytest.raises(DatasetError, match="names the label.s. spam, which"):
        imbalance.class_weights({"spam": 2.0}, ["neg", "pos"], [0, 1])
    with pytest.raises(DatasetError, match="no training text has the label pos"):
        imbalance.class_weights("balanced", ["neg", "pos"], [0, 0])


@pytest.mark.parametrize("metric", imbalance.THRESHOLD_METRICS)
def test_the_tuned_threshold_scores_best_of_every_cut(rng, metric):
    labels = rng.random(300) < 0.15
    positive = np.clip(0.25 * labels + rng.random(300) * 0.6, 0, 1).round(3)
    threshold, score = imbalance.tune_threshold(labels, positive, metric)
    # The score at the threshold, by scikit-learn.
    assert score == pytest.approx(SKLEARN[metric](labels, positive >= threshold))
    # No threshold does better: every distinct probability as a cut.
    best = max(SKLEARN[metric](labels, positive >= cut) for cut in np.unique(positive))
    assert score == pytest.approx(best)
    assert 0.01 <= threshold <= 0.99


def test_a_tie_is_broken_towards_one_half():
    threshold, score = imbalance.tune_threshold([0, 1], [0.1, 0.9], "accuracy")
    assert (threshold, score) == (0.5, 1.0)


@pytest.mark.parametrize(
    "changes, says",
    [
        (dict(threshold=1.0), "between 0 and 1"),
        (dict(threshold=0), "between 0 and 1"),
        (dict(threshold_metric="auc"), "one of f1, macro_f1"),
        (dict(threshold=0.3, threshold_metric="f1"), "not both"),
    ],
)
def test_bad_thresholds_are_refused(changes, says):
    with pytest.raises(InvalidArgumentError, match=says):
        ClassifierConfig(**changes)


def test_a_threshold_decides_the_second_label():
    probabilities = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    assert list(_predictions.decide(probabilities)) == [0, 0, 1]
    assert list(_predictions.decide(probabilities, 0.35)) == [0, 1, 1]
    rows = _predictions.labelled(["a", "b", "c"], probabilities, ["x", "y"], 0.35)
    assert [r["label"] for r in rows] == ["x", "y", "y"]
    assert rows[1]["probability"] == pytest.approx(0.4)


def test_the_pipeline_gives_each_text_its_class_weight(reviews, tmp_path):
    import datasets
    import keras

    from textgru.data import classification_dataset, load_dataset, train_tokenizer

    split = load_dataset(reviews)["train"]
    tokenizer = train_tokenizer(split["text"], vocab_size=100)
    weights = [0.5, 3.0]
    data = classification_dataset(
        split, tokenizer, batch_size=len(split), class_weights=weights
    )
    ids, labels, got = next(iter(data))
    np.testing.assert_array_equal(got.numpy(), np.take(weights, labels.numpy()))
    # Keras takes the third element as sample weights: the loss of one batch
    # is the mean of each text's cross-entropy times its weight.
    model = keras.Sequential(
        [keras.layers.Embedding(200, 4), keras.layers.GlobalAveragePooling1D(),
         keras.layers.Dense(1, activation="sigmoid")]
    )  # fmt: skip
    model.compile(loss="binary_crossentropy")
    loss = model.evaluate(data, verbose=0)
    p = model.predict(ids, verbose=0)[:, 0].astype(np.float64)
    y = labels.numpy()
    each = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss == pytest.approx(np.mean(each * got.numpy()), rel=1e-5)
    with pytest.raises(InvalidArgumentError, match="one per class"):
        classification_dataset(split, tokenizer, class_weights=[1.0])
    assert isinstance(split, datasets.Dataset)


def _imbalanced(tmp_path, n=400, every=6):
    """A CSV where one text in `every` is `pos`."""
    rng = np.random.default_rng(5)
    lines = ["text,label"]
    for i in range(n):
        pos = i % every == 0
        words = list(rng.choice(NEUTRAL, 4)) + list(
            rng.choice(POSITIVE if pos else NEGATIVE, 1)
        )
        lines.append(
            " ".join(rng.permutation(words)) + f" {i},{'pos' if pos else 'neg'}"
        )
    path = tmp_path / "imbalanced.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def weighted(tmp_path_factory):
    """A TINY run on imbalanced data with balanced class weights, a
    temperature fitted on validation, and a threshold tuned for F1."""
    from textgru.tasks import train_classifier

    folder = tmp_path_factory.mktemp("imbalanced")
    config = ClassifierConfig(
        dataset=_imbalanced(folder), out=str(folder / "run"),
        class_weight="balanced", threshold_metric="f1", calibrate=True, **TINY,
    )  # fmt: skip
    return train_classifier(config, verbose=0)


def test_a_run_records_and_uses_its_weights_and_threshold(weighted, tmp_path):
    import textgru
    from textgru.data import load_dataset
    from textgru.tasks import classification_report

    info = json.loads((weighted.path / "config.json").read_text())
    assert info["config"]["class_weight"] == "balanced"
    train = load_dataset(weighted.config.dataset)["train"]
    expected = compute_class_weight(
        "balanced", classes=np.arange(2), y=np.asarray(train["label"])
    )
    assert list(info["class_weights"]) == weighted.label_names == ["neg", "pos"]
    np.testing.assert_allclose(list(info["class_weights"].values()), expected, 1e-5)
    recorded = info["threshold"]
    assert recorded["metric"] == "f1" and 0 < recorded["value"] < 1
    assert weighted.threshold == recorded["value"]

    # Tuned on validation: no other cut scores better there.
    data = load_dataset(weighted.config.dataset)
    validation = data["validation"]
    positive = weighted.predict_proba(validation["text"])[:, 1]
    labels = np.asarray(validation["label"])
    assert recorded["validation_score"] == pytest.approx(
        sk.f1_score(labels, positive >= recorded["value"])
    )
    assert (
        recorded["validation_score"]
        >= max(sk.f1_score(labels, positive >= cut) for cut in np.unique(positive))
        - 1e-12
    )

    # The test report is of the thresholded labels.
    test = data["test"]
    probabilities = weighted.predict_proba(test["text"])
    decided = (probabilities[:, 1] >= weighted.threshold).astype(int)
    report = classification_report(test["label"], decided, weighted.label_names)
    assert {k: weighted.metrics["test"][k] for k in report} == report
    assert weighted.metrics["test"]["threshold"] == weighted.threshold
    assert weighted.evaluate() == weighted.metrics["test"]

    # predict, after a reload too.
    texts = list(test["text"])
    for run in (weighted, textgru.load(weighted.path)):
        assert run.threshold == weighted.threshold
        got = [r["label"] for r in run.predict(texts)]
        assert got == [weighted.label_names[i] for i in decided]


def _threshold_that_matters(positive):
    """A threshold that labels some of `positive` otherwise than 0.5 does,
    in a gap between them (so 1e-5 apart still decide alike)."""
    values = np.unique(positive)
    for low, high in zip(values[:-1], values[1:], strict=True):
        if high - low > 1e-3 and (high < 0.5 or low >= 0.5):
            return float((low + high) / 2)
    raise AssertionError(f"no gap away from 0.5 in {values}")


def test_an_export_and_a_labelled_file_use_the_threshold(weighted, tmp_path):
    import dataclasses

    from textgru.deploy import exporter
    from textgru.deploy.batch_predictor import BatchPredictor
    from textgru.deploy.labelling import label_file

    texts = exporter.probe_texts(weighted.tokenizer, 12, 40, seed=1)
    texts += ["good fine", "fine film", "bad film", "superb"]
    positive = weighted.predict_proba(texts)[:, 1]
    # The run as recorded, and the same run with a threshold that changes
    # some labels (so a path that ignored it would be caught).
    threshold = _threshold_that_matters(positive)
    assert ((positive >= threshold) != (positive >= 0.5)).any()
    for index, run in enumerate(
        (weighted, dataclasses.replace(weighted, threshold=threshold))
    ):
        expected = [run.label_names[int(p >= run.threshold)] for p in positive]
        assert [r["label"] for r in run.predict(texts)] == expected
        exported = exporter.export(run, tmp_path / f"export{index}")
        assert exported.threshold == run.threshold
        spec = json.loads((exported.path / "export.json").read_text())
        assert spec["head"]["threshold"] == run.threshold
        assert [r["label"] for r in exported.predict(texts)] == expected
        source = tmp_path / "in.csv"
        source.write_text("text\n" + "\n".join(json.dumps(t) for t in texts) + "\n")
        for model in (run, exported):
            out = tmp_path / f"{index}-{type(model).__name__}.jsonl"
            label_file(model, source, out)
            rows = [json.loads(line) for line in out.read_text().splitlines()]
            assert [r["label"] for r in rows] == expected
        batch = BatchPredictor(exported.path)({"text": texts})
        assert list(batch["label"]) == expected


def test_evaluate_prints_the_threshold(weighted, capsys):
    from textgru import cli

    assert cli.main(["evaluate", str(weighted.path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f"(pos where its probability >= {weighted.threshold:.3f})" in first


def test_a_threshold_on_three_classes_is_one_line(tmp_path, capsys):
    from tests.tiny import labelled_rows, write_csv
    from textgru import cli

    rows = labelled_rows(np.random.default_rng(0), 90, [NEGATIVE, POSITIVE, NEUTRAL])
    data = write_csv(tmp_path / "three.csv", rows, ["neg", "pos", "neutral"])
    out = tmp_path / "run"
    code = cli.main(
        ["train", "classify", "--dataset", data, "--out", str(out),
         "--threshold-metric", "f1"]
    )  # fmt: skip
    assert "is for two classes; this dataset has 3" in one_line_error(capsys, code)
    code = cli.main(
        ["train", "classify", "--dataset", data, "--out", str(out),
         "--class-weight", '{"spam": 2}']
    )  # fmt: skip
    assert "names the label(s) spam" in one_line_error(capsys, code)
    code = cli.main(["train", "classify", "--threshold", "1.5"])
    assert "between 0 and 1" in one_line_error(capsys, code)
    assert not out.exists() and not (tmp_path / "run.partial").exists()


def _scores(rng, n=400):
    labels = rng.random(n) < 0.3
    # Scores with ties (rounded), as a model's float32 outputs have.
    return labels, np.clip(0.3 * labels + rng.random(n) * 0.7, 0, 1).round(2)


def test_roc_and_pr_auc_are_scikit_learns(rng):
    from textgru.tasks.metrics import average_precision, roc_auc

    labels, scores = _scores(rng)
    assert roc_auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores))
    assert average_precision(labels, scores) == pytest.approx(
        sk.average_precision_score(labels, scores)
    )
    assert roc_auc([1, 1], [0.2, 0.4]) is None
    assert average_precision([0, 0], [0.2, 0.4]) is None


def test_the_calibration_error_is_the_weighted_gap_per_bin(rng):
    from textgru.tasks.metrics import calibration_error

    probabilities = rng.dirichlet(np.ones(3) * 0.7, size=500)
    labels = rng.integers(0, 3, size=500)
    ece, bins = calibration_error(labels, probabilities, bins=10)
    # A plain loop over texts and the bins' (low, high] edges.
    confidence, predicted = probabilities.max(1), probabilities.argmax(1)
    expected = 0.0
    for b in range(10):
        low, high = b / 10, (b + 1) / 10
        inside = [
            i
            for i in range(500)
            if low < confidence[i] <= high or (b == 0 and confidence[i] == 0)
        ]
        assert bins[b]["count"] == len(inside)
        if inside:
            accuracy = np.mean([predicted[i] == labels[i] for i in inside])
            gap = abs(accuracy - np.mean(confidence[inside]))
            expected += len(inside) / 500 * gap
    assert ece == pytest.approx(expected)
    assert sum(b["count"] for b in bins) == 500


def test_temperature_scaling_divides_the_logits(rng):
    from textgru._predictions import calibrated

    positive = rng.random(50)
    two = np.stack([1 - positive, positive], axis=1)
    logit = np.log(positive / (1 - positive))
    np.testing.assert_allclose(
        calibrated(two, 2.0)[:, 1], 1 / (1 + np.exp(-logit / 2.0)), rtol=1e-9
    )
    logits = rng.normal(size=(50, 4)) * 3
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    hot = np.exp(logits / 0.5) / np.exp(logits / 0.5).sum(1, keepdims=True)
    np.testing.assert_allclose(calibrated(softmax, 0.5), hot, rtol=1e-9)
    assert calibrated(softmax, None) is softmax
    # The order of the classes, so the likelier label, never changes.
    np.testing.assert_array_equal(calibrated(softmax, 3.0).argmax(1), softmax.argmax(1))


def test_the_fitted_temperature_minimises_the_validation_nll(rng):
    from scipy.optimize import minimize_scalar

    from textgru._predictions import calibrated
    from textgru.tasks.calibration import fit_temperature, negative_log_likelihood

    labels = rng.integers(0, 3, size=300)
    logits = rng.normal(size=(300, 3)) + 2.5 * np.eye(3)[labels]
    logits *= 3  # overconfident: the best temperature is above 1
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    temperature, before, after = fit_temperature(labels, p)
    best = minimize_scalar(
        lambda t: negative_log_likelihood(labels, calibrated(p, t)),
        bounds=(0.05, 20), method="bounded", options={"xatol": 1e-8},
    )  # fmt: skip
    assert temperature == pytest.approx(best.x, rel=1e-3)
    assert temperature > 1 and after < before
    assert after == pytest.approx(
        negative_log_likelihood(labels, calibrated(p, temperature))
    )


def test_a_calibrated_run_reports_what_its_probabilities_are_worth(weighted, tmp_path):
    import textgru
    from textgru.data import load_dataset
    from textgru.deploy import exporter
    from textgru.tasks.classification import predict_proba

    info = json.loads((weighted.path / "config.json").read_text())
    temperature = info["temperature"]["value"]
    assert weighted.temperature == temperature and temperature != 1.0
    before, after = info["temperature"]["validation_nll"]
    assert after <= before
    test = load_dataset(weighted.config.dataset)["test"]
    texts, labels = list(test["text"]), np.asarray(test["label"])
    raw = predict_proba(weighted.model, weighted.preprocessor, texts)
    calibrated = weighted.predict_proba(texts)
    positive = 1 / (1 + np.exp(-np.log(raw[:, 1] / raw[:, 0]) / temperature))
    np.testing.assert_allclose(calibrated[:, 1], positive, rtol=1e-6)
    report = weighted.metrics["test"]
    assert report["temperature"] == temperature
    assert report["roc_auc"] == pytest.approx(
        sk.roc_auc_score(labels, calibrated[:, 1])
    )
    assert report["pr_auc"] == pytest.approx(
        sk.average_precision_score(labels, calibrated[:, 1])
    )
    assert report["positive_label"] == "pos" and 0 <= report["ece"] <= 1
    assert (weighted.path / "calibration.png").stat().st_size > 1000
    # A reload and an export give the calibrated probabilities.
    reloaded = textgru.load(weighted.path)
    np.testing.assert_allclose(reloaded.predict_proba(texts), calibrated, atol=1e-7)
    exported = exporter.export(weighted, tmp_path / "export")
    assert exported.temperature == temperature
    np.testing.assert_allclose(exported.predict_proba(texts), calibrated, atol=1e-5)


def test_evaluate_writes_the_texts_it_gets_wrong(weighted, tmp_path, capsys):
    import csv

    from textgru import cli
    from textgru.data import load_dataset

    # Labelled texts the run gets wrong by construction: the test texts,
    # every third one labelled against the run's own decision (a tiny run
    # may get every real test label right).
    test = load_dataset(weighted.config.dataset)["test"]
    texts = list(test["text"])
    probabilities = weighted.predict_proba(texts)
    decided = weighted.decide(probabilities)
    names = weighted.label_names
    labels = np.where(np.arange(len(texts)) % 3 == 0, 1 - decided, decided)
    wrong = np.flatnonzero(decided != labels)
    scored = tmp_path / "scored.csv"
    with open(scored, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(
            [("text", "label")]
            + [(t, names[y]) for t, y in zip(texts, labels, strict=True)]
        )

    out = tmp_path / "errors.jsonl"
    evaluate = ["evaluate", str(weighted.path), "--dataset", str(scored)]
    assert cli.main([*evaluate, "--errors", str(out)]) == 0
    printed = capsys.readouterr()
    assert "ROC-AUC" in printed.out and "expected calibration error" in printed.out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(wrong) > 0
    assert sorted(r["text"] for r in rows) == sorted(texts[i] for i in wrong)
    confidences = [r["probability"] for r in rows]
    assert confidences == sorted(confidences, reverse=True)
    by_text = {t: i for i, t in enumerate(texts)}
    for row in rows:
        i = by_text[row["text"]]
        assert row["label"] == names[labels[i]] != row["predicted"]
        assert row["predicted"] == names[decided[i]]
        assert row["probability"] == pytest.approx(probabilities[i, decided[i]])
        assert row["p_true"] == pytest.approx(probabilities[i, labels[i]])

    as_csv = tmp_path / "errors.csv"
    weighted.evaluate(str(scored), errors=as_csv)
    with open(as_csv, newline="", encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert [r["text"] for r in table] == [r["text"] for r in rows]
    assert list(table[0]) == ["text", "label", "predicted", "probability", "p_true",
                              "p_neg", "p_pos"]  # fmt: skip

    # An existing file is never replaced; a format it cannot write, refused.
    before = out.read_bytes()
    code = cli.main(["evaluate", str(weighted.path), "--errors", str(out)])
    assert "already exists" in one_line_error(capsys, code)
    assert out.read_bytes() == before
    code = cli.main(
        ["evaluate", str(weighted.path), "--errors", str(tmp_path / "e.txt")]
    )
    assert ".csv or .jsonl" in one_line_error(capsys, code)
    assert not (tmp_path / "e.txt").exists()


@pytest.mark.parametrize(
    "key, value", [("threshold", 1.5), ("threshold", "high"), ("temperature", -1)]
)
def test_an_export_json_with_a_bad_decision_is_refused(
    weighted, tmp_path, capsys, key, value
):
    import hashlib
    import shutil

    from textgru import cli
    from textgru.deploy import exporter

    folder = tmp_path / "export"
    exporter.export(weighted, folder)
    spec = json.loads((folder / "export.json").read_text())
    spec["head"][key] = value
    data = json.dumps(spec).encode()
    (folder / "export.json").write_bytes(data)
    # Its manifest made to fit: the value itself is refused.
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["export.json"] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code = cli.main(["predict", str(folder), "a text"])
    assert "export.json is damaged" in one_line_error(capsys, code)
    shutil.rmtree(folder)


def test_the_positive_label_is_the_one_f1_and_pr_auc_are_about(tmp_path):
    """The rare label sorts first ("complaint" before "ok"): with
    --positive-label complaint, the threshold is tuned for its F1 and PR-AUC
    is its, checked against scikit-learn's."""
    from textgru.data import load_dataset
    from textgru.tasks import train_classifier

    source = _imbalanced(tmp_path)
    text = (
        open(source).read().replace(",pos\n", ",complaint\n").replace(",neg\n", ",ok\n")
    )
    path = tmp_path / "complaints.csv"
    path.write_text(text)
    config = ClassifierConfig(
        dataset=str(path), out=str(tmp_path / "run"), threshold_metric="f1",
        positive_label="complaint", **TINY,
    )  # fmt: skip
    run = train_classifier(config, verbose=0)
    assert run.label_names == ["complaint", "ok"] and run.positive == 0
    data = load_dataset(str(path))
    validation = data["validation"]
    ok = run.predict_proba(validation["text"])[:, 1]
    labels = np.asarray(validation["label"])
    tuned = json.loads((run.path / "config.json").read_text())["threshold"]
    # The second label ("ok") is predicted at or above the threshold, as ever;
    # the F1 tuned is the complaint's, the best of any cut.
    f1 = sk.f1_score(labels, (ok >= run.threshold).astype(int), pos_label=0)
    assert tuned["validation_score"] == pytest.approx(f1)
    best = max(
        sk.f1_score(labels, (ok >= cut).astype(int), pos_label=0)
        for cut in np.unique(ok)
    )
    assert f1 >= best - 1e-12
    test = data["test"]
    probabilities = run.predict_proba(test["text"])
    report = run.metrics["test"]
    assert report["positive_label"] == "complaint"
    assert report["pr_auc"] == pytest.approx(
        sk.average_precision_score(np.asarray(test["label"]) == 0, probabilities[:, 0])
    )

    wrong = ClassifierConfig(
        dataset=str(path), out=str(tmp_path / "wrong"), positive_label="spam", **TINY
    )
    with pytest.raises(DatasetError, match="--positive-label spam is not one of"):
        train_classifier(wrong, verbose=0)
