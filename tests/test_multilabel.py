"""Multi-label classification (`textgru train multilabel`): label lists read
every way a file or a `datasets` feature holds them, the metrics and the
per-label thresholds against scikit-learn, a run that trains, reloads,
predicts and evaluates (in Python and from the command line), and the
errors in one line."""

import csv
import json
import re

import numpy as np
import pytest
from sklearn import metrics as sk

from tests.cli_output import one_line_error
from tests.tiny import NEUTRAL, TINY
from textgru.errors import DatasetError, InvalidArgumentError

# The classifier's tiny sizes; adversarial training is the classifier's own.
SIZES = {k: v for k, v in TINY.items() if k != "adversarial"}
# Each label is given away by its own words; a text has 0 to 3 of them.
TOPICS = {
    "money": ["tax", "bank", "price", "market"],
    "sport": ["match", "goal", "team", "coach"],
    "weather": ["rain", "storm", "sunny", "wind"],
}


def _label_sets(n, seed=0):
    """`n` (text, labels) rows: four neutral words and two words of each of
    the text's topics, shuffled, and a row number."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        chosen = sorted(
            rng.choice(list(TOPICS), size=rng.integers(0, 4), replace=False)
        )
        words = [*rng.choice(NEUTRAL, 4)]
        for topic in chosen:
            words += list(rng.choice(TOPICS[topic], 2))
        rows.append((" ".join(rng.permutation(words)) + f" n{i}", list(chosen)))
    return rows


def _piped(labels):
    """A label set as a "|"-separated string ([] for none)."""
    return "|".join(labels) or "[]"


def _write(path, rows, cell=json.dumps):
    """`rows` as a text,labels CSV, each set written by `cell`."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "labels"])
        for text, labels in rows:
            writer.writerow([text, cell(labels)])
    return str(path)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tagged")
    return _write(folder / "tags.csv", _label_sets(400))


@pytest.fixture(scope="module")
def trained(tagged, tmp_path_factory):
    from textgru.tasks import MultiLabelConfig, train_multi_label

    out = tmp_path_factory.mktemp("multilabel") / "run"
    config = MultiLabelConfig(dataset=tagged, out=str(out), **{**SIZES, "epochs": 4})
    return train_multi_label(config, verbose=0)


# --- reading label sets -------------------------------------------------------


def test_every_way_of_writing_label_sets_reads_the_same(tmp_path):
    import datasets

    from textgru.data import MultiLabels, load_dataset

    rows = _label_sets(60)
    as_json = load_dataset(
        _write(tmp_path / "j.csv", rows), target=MultiLabels("labels")
    )
    as_pipes = load_dataset(
        _write(tmp_path / "p.csv", rows, _piped),
        target=MultiLabels("labels", "|"),
    )
    lines = [json.dumps({"text": t, "tags": labels}) for t, labels in rows]
    (tmp_path / "l.jsonl").write_text("\n".join(lines) + "\n")
    as_lists = load_dataset(str(tmp_path / "l.jsonl"), target=MultiLabels("tags"))
    names = sorted(TOPICS)
    feature = datasets.Sequence(datasets.ClassLabel(names=names))
    in_memory = datasets.Dataset.from_dict(
        {"text": [t for t, _ in rows],
         "labels": [[names.index(n) for n in labels] for _, labels in rows]},
        features=datasets.Features({"text": datasets.Value("string"),
                                    "labels": feature}),
    )  # fmt: skip
    as_feature = load_dataset(in_memory, target=MultiLabels("labels"))
    truth = dict(rows)
    for data in (as_json, as_pipes, as_lists, as_feature):
        assert data["train"].features["labels"].feature.names == names
        for split in data.values():
            for text, ids in zip(split["text"], split["labels"], strict=True):
                assert [names[i] for i in ids] == truth[text]
    # The same seeded split every way.
    assert as_json["test"]["text"] == as_feature["test"]["text"]


def test_a_carved_split_keeps_every_label_in_train(tmp_path):
    from textgru.data import MultiLabels, load_dataset

    rows = [(f"common words {i}", ["common"]) for i in range(40)]
    rows += [("one rare text", ["common", "rare"])]
    data = load_dataset(_write(tmp_path / "r.csv", rows), target=MultiLabels("labels"))
    rare = data["train"].features["labels"].feature.names.index("rare")
    assert any(rare in ids for ids in data["train"]["labels"])


@pytest.mark.parametrize(
    "cell, says",
    [("", "row 1 .* has no labels .* write \\[\\] for a text with none"),
     ('["sport", ', "row 1 .* not a JSON list"),
     ('["sport", ""]', "row 1 .* an empty label"),
     ('["sport", {"a": 1}]', "not a class name")],
)  # fmt: skip
def test_malformed_label_sets_are_refused_by_row(tmp_path, cell, says):
    from textgru.data import MultiLabels, load_dataset

    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows([["text", "labels"], ["a", '["x"]'], ["b", cell]])
    with pytest.raises(DatasetError, match=says):
        load_dataset(str(path), target=MultiLabels("labels"))


def test_a_label_that_train_lacks_is_refused(tmp_path):
    from textgru.data import MultiLabels, load_dataset

    train = _write(tmp_path / "train.csv", _label_sets(30))
    test = _write(tmp_path / "test.csv", [("the film n99", ["money", "cinema"])])
    with pytest.raises(DatasetError, match="split 'test' has label.s. cinema"):
        load_dataset({"train": train, "test": test}, target=MultiLabels("labels"))


# --- the measures -------------------------------------------------------------


def test_the_report_is_scikit_learns(rng):
    from textgru.tasks import multi_label_report

    true = rng.random((300, 4)) < 0.3
    probabilities = np.clip(true * 0.4 + rng.random((300, 4)) * 0.7, 0, 1)
    pred = probabilities >= 0.5
    pred[:, 3] = False  # a label never predicted: precision 0, as zero_division=0
    names = ["a", "b", "c", "d"]
    report = multi_label_report(true, pred, names, probabilities)
    assert report["micro_f1"] == pytest.approx(sk.f1_score(true, pred, average="micro"))
    assert report["macro_f1"] == pytest.approx(
        sk.f1_score(true, pred, average="macro", zero_division=0)
    )
    assert report["micro_precision"] == pytest.approx(
        sk.precision_score(true, pred, average="micro")
    )
    assert report["subset_accuracy"] == pytest.approx(sk.accuracy_score(true, pred))
    assert report["hamming_loss"] == pytest.approx(sk.hamming_loss(true, pred))
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        true, pred, zero_division=0
    )
    for i, name in enumerate(names):
        row = report["per_label"][name]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == (
            pytest.approx(precision[i]), pytest.approx(recall[i]),
            pytest.approx(f1[i]), support[i],
        )  # fmt: skip
        assert row["roc_auc"] == pytest.approx(
            sk.roc_auc_score(true[:, i], probabilities[:, i])
        )
    assert report["macro_roc_auc"] == pytest.approx(
        sk.roc_auc_score(true, probabilities, average="macro")
    )


def test_each_label_gets_the_threshold_that_scores_best_for_it(rng):
    from textgru.tasks.multilabel import DEFAULT_THRESHOLD, tune_thresholds

    true = rng.random((120, 3)) < 0.35
    true[:, 2] = False  # never there: cannot be tuned
    probabilities = np.clip(true * 0.3 + rng.random((120, 3)) * 0.6, 0, 1)
    thresholds, scores = tune_thresholds(true, probabilities, "f1")
    for column in (0, 1):
        # No cut scores better than the chosen one (brute force over a grid).
        best = max(
            sk.f1_score(true[:, column], probabilities[:, column] >= cut)
            for cut in np.linspace(0.01, 0.99, 197)
        )
        chosen = sk.f1_score(
            true[:, column], probabilities[:, column] >= thresholds[column]
        )
        assert chosen == pytest.approx(scores[column]) and chosen >= best - 1e-12
    assert thresholds[2] == DEFAULT_THRESHOLD and scores[2] is None
    fixed, _ = tune_thresholds(true, probabilities, "none")
    assert (fixed == DEFAULT_THRESHOLD).all()


# --- a run --------------------------------------------------------------------


def test_a_run_learns_the_labels_and_records_its_thresholds(trained):
    import textgru

    test = trained.metrics["test"]
    # Chance: predicting each label's majority answer scores micro-F1 0.
    assert test["micro_f1"] > 0.8 and test["hamming_loss"] < 0.15
    assert set(test["per_label"]) == set(TOPICS)
    recorded = json.loads((trained.path / "config.json").read_text())["thresholds"]
    assert recorded["metric"] == "f1"
    assert list(trained.thresholds) == [
        recorded["value"][n] for n in trained.label_names
    ]
    for name in ("label_scores.png", "gates.png"):
        assert (trained.path / name).stat().st_size > 0
    # Reloaded, it decides as it did.
    again = textgru.load(trained.path)
    assert type(again).__name__ == "MultiLabelRun"
    texts = ["the tax and the goal n1", "rain rain storm n2", "the film n3"]
    assert again.predict(texts) == trained.predict(texts)
    assert again.evaluate() == trained.metrics["test"]


def test_predict_gives_the_labels_at_their_thresholds_and_the_top_k(trained):
    texts = ["the bank price and the team goal", "a film about the plot"]
    probabilities = trained.predict_proba(texts)
    results = trained.predict(texts, top_k=2)
    for result, row in zip(results, probabilities, strict=True):
        expected = [
            name
            for name, p, t in zip(
                trained.label_names, row, trained.thresholds, strict=True
            )
            if p >= t
        ]
        assert sorted(result["labels"]) == sorted(expected)
        ps = [result["probabilities"][name] for name in result["labels"]]
        assert ps == sorted(ps, reverse=True)
        assert [p for _, p in result["top"]] == sorted(row, reverse=True)[:2]
    with pytest.raises(InvalidArgumentError, match="top_k"):
        trained.predict(texts, top_k=0)


def test_evaluate_on_another_file_and_the_errors_file(trained, tmp_path):
    rows = _label_sets(50, seed=7)
    other = _write(tmp_path / "other.csv", rows, _piped)
    errors = tmp_path / "wrong.csv"
    report = trained.evaluate(other, label_separator="|", errors=errors)
    assert report["num_examples"] == 50
    with open(errors, newline="") as file:
        wrong = list(csv.DictReader(file))
    right = 50 - len(wrong)
    assert right == round(report["subset_accuracy"] * 50)
    truth = dict(rows)
    gaps = [float(row["error"]) for row in wrong]
    assert gaps == sorted(gaps, reverse=True)
    for row in wrong:
        assert (row["labels"].split("|") if row["labels"] else []) == truth[row["text"]]
        assert row["labels"] != row["predicted"]
    unknown = _write(tmp_path / "unknown.csv", [("a tax n1", ["money", "cinema"])])
    with pytest.raises(DatasetError, match="cinema"):
        trained.evaluate(unknown)


def test_the_command_line(trained, capsys, tmp_path):
    from textgru import cli

    assert cli.main(["predict", str(trained.path), "--json", "--top-k", "1",
                     "rain storm n1"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"text", "labels", "probabilities", "top"}
    assert len(result["top"]) == 1
    assert cli.main(["predict", str(trained.path), "rain storm n1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line == "|".join(result["labels"]) + "\train storm n1"
    assert cli.main(["evaluate", str(trained.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{trained.metrics['test']['num_examples']} texts: micro-F1")
    for name in TOPICS:
        assert f"\n{name} " in out
    # What a multi-label run does not take, in one line each.
    for args, says in [
        (["evaluate", str(trained.path), "--target-column", "t"],
         "is a 'multilabel' run: --target-column is for 'regress' runs"),
        (["predict", str(trained.path), "--top-k", "2", "x"], "add --json"),
    ]:  # fmt: skip
        assert says in one_line_error(capsys, cli.main(args))


def test_bad_runs_are_refused_in_one_line(tagged, tmp_path, capsys):
    from textgru import cli

    one = _write(
        tmp_path / "one.csv", [(f"tax bank n{i}", ["money"]) for i in range(40)]
    )
    out = str(tmp_path / "run")
    cases = [
        ([], "needs your data: give --dataset FILE"),
        (
            ["--dataset", one],
            "has one label only .money.; .* use .textgru train classify",
        ),
        (["--dataset", tagged, "--threshold", "1.5"], "between 0 and 1"),
        (["--dataset", tagged, "--threshold-metric", "recall"], "one of f1"),
        (["--dataset", tagged, "--label-separator", " "], "not blank"),
    ]
    for flags, says in cases:
        code = cli.main(["train", "multilabel", "--out", out, *flags])
        assert re.search(says, one_line_error(capsys, code))
    assert not (tmp_path / "run").exists()
    assert not (tmp_path / "run.partial").exists()


def test_a_fixed_threshold_is_every_labels(tagged, tmp_path):
    from textgru.tasks import MultiLabelConfig, MultiLabelRun, train_multi_label

    config = MultiLabelConfig(
        dataset=tagged,
        out=str(tmp_path / "run"),
        threshold=0.7,
        **{**SIZES, "epochs": 1},
    )
    run = train_multi_label(config, verbose=0)
    assert list(run.thresholds) == [0.7] * 3
    assert list(MultiLabelRun.load(run.path).thresholds) == [0.7] * 3
    probabilities = run.predict_proba(["tax bank rain goal"])
    assert run.predict(["tax bank rain goal"])[0]["labels"] == [
        name
        for name, p in sorted(
            zip(run.label_names, probabilities[0], strict=True), key=lambda x: -x[1]
        )
        if p >= 0.7
    ]


def test_a_damaged_threshold_record_is_refused(trained, tmp_path):
    import shutil

    from tests.reliability.conftest import reseal
    from textgru.errors import RunIntegrityError
    from textgru.tasks import MultiLabelRun

    copy = tmp_path / "copy"
    shutil.copytree(trained.path, copy)
    info = json.loads((copy / "config.json").read_text())
    info["thresholds"]["value"]["money"] = 2.0
    (copy / "config.json").write_text(json.dumps(info))
    reseal(copy)
    with pytest.raises(RunIntegrityError, match="damaged thresholds"):
        MultiLabelRun.load(copy)


def test_the_model_round_trips_through_keras(tmp_path):
    import keras

    from textgru.models import build_classifier

    model = build_classifier(50, 3, embed_dim=4, units=4, multi_label=True)
    ids = np.array([[3, 4, 5, 0], [6, 7, 0, 0]])
    before = model.predict(ids, verbose=0)
    assert before.shape == (2, 3) and not np.allclose(before.sum(axis=1), 1.0)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.multi_label
    np.testing.assert_allclose(again.predict(ids, verbose=0), before, rtol=1e-6)


def test_label_lists_given_to_a_one_label_classifier_are_named(tmp_path):
    from textgru.data import load_dataset
    from textgru.errors import DataWarning

    rows = _label_sets(40)
    with pytest.warns(DataWarning, match="look like lists.*textgru train multilabel"):
        load_dataset(_write(tmp_path / "j.csv", rows), label_column="labels")
    lines = [json.dumps({"text": t, "labels": labels}) for t, labels in rows]
    (tmp_path / "l.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="is a list; .*textgru train multilabel"):
        load_dataset(str(tmp_path / "l.jsonl"), label_column="labels")


def test_a_multi_label_run_ships(trained, tmp_path, capsys):
    """Its export answers as the run does everywhere (tests/shipping.py): the
    labels at their thresholds and every probability; a file gets the labels
    joined by "|" and a p_<label> column each."""
    from tests.shipping import assert_ships

    texts = ["rain storm n1", "tax bank goal n2", "a plain text", "match team n3"]
    exported = assert_ships(trained, tmp_path, capsys, texts)
    assert exported.label_names == trained.label_names
    np.testing.assert_allclose(exported.head.thresholds, trained.thresholds)
    assert list(exported.head.column_kinds) == [
        "labels",
        *(f"p_{name}" for name in trained.label_names),
    ]
