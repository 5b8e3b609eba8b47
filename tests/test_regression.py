"""Text regression (`textgru train regress`): targets read as numbers, the
built-in rated sets, the metrics against SciPy, a run that trains, reloads
and predicts numbers, and the errors in one line."""

import json
import os

import numpy as np
import pytest
from scipy import stats

from tests.cli_output import one_line_error
from tests.tiny import NEGATIVE, NEUTRAL, POSITIVE, TINY
from textgru.errors import DatasetError, InvalidArgumentError

# The classifier's tiny sizes (adversarial training off).
SIZES = TINY


def _scored(path, n=300, seed=0):
    """A CSV of texts whose score is (positive words) - (negative words),
    plus a little noise."""
    rng = np.random.default_rng(seed)
    lines = ["text,score"]
    for i in range(n):
        good, bad = rng.integers(0, 3, size=2)
        words = [*rng.choice(NEUTRAL, 4), *rng.choice(POSITIVE, good)]
        words += list(rng.choice(NEGATIVE, bad))
        noise = rng.normal(0, 0.1)
        lines.append(
            " ".join(rng.permutation(words)) + f" {i},{good - bad + noise:.3f}"
        )
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_the_report_is_scipys(rng):
    from textgru.tasks import regression_report

    y = rng.normal(size=200).round(1)  # ties, as ratings have
    p = (y + rng.normal(size=200)).round(1)
    report = regression_report(y, p)
    assert report["pearson"] == pytest.approx(stats.pearsonr(y, p)[0])
    assert report["spearman"] == pytest.approx(stats.spearmanr(y, p)[0])
    assert report["mae"] == pytest.approx(np.mean(np.abs(p - y)))
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean((p - y) ** 2)))
    assert regression_report([1, 2, 3], [2, 2, 2])["pearson"] is None


@pytest.mark.parametrize(
    "value, says",
    [("high", "target 'high' .* is not a number"), ("nan", "row 1 .* has no target"),
     ("", "row 1 .* has no target"), ("inf", "is not finite"),
     ("1e300", "target 1e\\+300 .* beyond what the model computes in")],
)  # fmt: skip
def test_targets_that_are_not_numbers_are_refused(tmp_path, value, says):
    from textgru.data import Numbers, load_dataset

    path = tmp_path / "bad.csv"
    path.write_text(f"text,score\na fine film,1.5\na dull film,{value}\n")
    with pytest.raises(DatasetError, match=says):
        load_dataset(str(path), target=Numbers("score"))
    with pytest.raises(DatasetError, match="no target column 'rating'.*score"):
        load_dataset(str(path), target=Numbers("rating"))


@pytest.mark.parametrize("name", ["tweets_rating", "amazon_rating", "nyt_rating"])
def test_the_rated_builtins(builtin_home, name):
    from textgru.data import Numbers, builtin, load_dataset

    data = load_dataset(name, target=Numbers("target"))
    texts = [t for split in data.values() for t in split["text"]]
    assert len(texts) == len(set(texts)) == builtin.BUILTINS[name].num_texts
    targets = np.concatenate([split["target"] for split in data.values()])
    assert -4 <= targets.min() < 0 < targets.max() <= 4
    sizes = [len(data[s]) for s in data]
    assert [round(n / len(texts), 2) for n in sizes] == [0.8, 0.1, 0.1]
    # The movie-review set is not one of them: it holds rotten_tomatoes texts.
    assert "movie_rating" not in builtin.BUILTINS


def test_a_regressor_saves_and_reloads(tmp_path):
    import keras

    from textgru.models import TextRegressor, build_regressor

    model = build_regressor(50, embed_dim=4, units=3, target_mean=1.5, target_scale=2)
    ids = np.array([[4, 5, 6, 0], [7, 8, 0, 0]])
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(again, TextRegressor) and again.target_scale == 2.0
    np.testing.assert_allclose(
        again.predict(ids, verbose=0), model.predict(ids, verbose=0)
    )
    with pytest.raises(InvalidArgumentError, match="target_scale"):
        build_regressor(50, target_scale=0)


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    from textgru.tasks import RegressionConfig, train_regressor

    folder = tmp_path_factory.mktemp("regress")
    config = RegressionConfig(
        dataset=_scored(folder / "scored.csv"), target_column="score",
        out=str(folder / "run"), **{**SIZES, "epochs": 4},
    )  # fmt: skip
    return train_regressor(config, verbose=0)


def test_a_run_trains_reloads_and_predicts_numbers(regressor):
    import textgru
    from textgru.data import Numbers, load_dataset
    from textgru.tasks import REGRESS, RegressorRun, regression_report
    from textgru.training import run_directory

    assert sorted(os.listdir(regressor.path)) == sorted(
        [*REGRESS.files, run_directory.MANIFEST]
    )
    test = load_dataset(regressor.config.dataset, target=Numbers("score"))["test"]
    predicted = regressor.predict(test["text"])
    assert regressor.metrics["test"] == regression_report(test["target"], predicted)
    # It learned the words' signs: far above chance on its test split.
    assert regressor.metrics["test"]["pearson"] > 0.5
    ids = regressor.preprocessor.pad(regressor.preprocessor.encode_batch(test["text"]))
    direct = regressor.model.predict(ids, verbose=0)[:, 0]
    np.testing.assert_allclose(predicted, direct, atol=1e-5)
    reloaded = textgru.load(regressor.path)
    assert isinstance(reloaded, RegressorRun)
    np.testing.assert_allclose(reloaded.predict(test["text"]), predicted, atol=1e-6)
    assert reloaded.evaluate() == regressor.metrics["test"]
    info = json.loads((regressor.path / "config.json").read_text())
    assert info["task"] == "regress" and info["target"]["std"] > 0


def test_the_command_predicts_and_evaluates(regressor, capsys):
    from textgru import cli

    assert cli.main(["predict", str(regressor.path), "good great fun", "bad"]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = [float(line.split("\t")[0]) for line in lines]
    np.testing.assert_allclose(
        values, regressor.predict(["good great fun", "bad"]), atol=1e-4
    )
    assert cli.main(["evaluate", str(regressor.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("30 texts: MAE ") and "Pearson r" in out
    assert cli.main(["evaluate", str(regressor.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == regressor.metrics["test"]


def test_what_a_regression_run_cannot_do_is_one_line(regressor, capsys):
    from textgru import cli

    path = str(regressor.path)
    code = cli.main(["evaluate", path, "--label-column", "score"])
    assert "is a 'regress' run: --label-column is for 'classify' and 'multilabel'" in (
        one_line_error(capsys, code)
    )
    code = cli.main(["predict", path, "--json", "--top-k", "2", "a film"])
    assert "one number per text, with no labels for --top-k" in (
        one_line_error(capsys, code)
    )


def test_evaluating_on_texts_it_trained_on_is_refused(regressor, tmp_path, capsys):
    from textgru import cli

    # The run's own file holds its training texts: scoring on it is a leak.
    code = cli.main(
        ["evaluate", str(regressor.path), "--dataset", regressor.config.dataset]
    )
    assert "score it on texts it never trained on" in one_line_error(capsys, code)
    other = _scored(tmp_path / "other.csv", n=40, seed=9)
    assert cli.main(["evaluate", str(regressor.path), "--dataset", other]) == 0
    assert capsys.readouterr().out.startswith("40 texts: MAE")


@pytest.mark.parametrize(
    "changes, says",
    [(dict(loss="l1"), "one of mse, huber"), (dict(huber_delta=0), "huber_delta")],
)
def test_config_errors(changes, says):
    from textgru.tasks import RegressionConfig

    with pytest.raises(InvalidArgumentError, match=says):
        RegressionConfig(**changes)


def test_targets_that_never_vary_are_one_line(tmp_path, capsys):
    from textgru import cli

    path = tmp_path / "flat.csv"
    rows = [f"text {i} {NEUTRAL[i % 9]},2" for i in range(40)]
    path.write_text("text,score\n" + "\n".join(rows) + "\n")
    out = tmp_path / "run"
    code = cli.main(
        ["train", "regress", "--dataset", str(path), "--target-column", "score",
         "--out", str(out)]
    )  # fmt: skip
    assert "every training text has the same target" in one_line_error(capsys, code)
    assert not out.exists() and not (tmp_path / "run.partial").exists()


def test_evaluate_writes_every_text_worst_first(regressor, tmp_path, capsys):
    import csv

    from textgru import cli
    from textgru.data import Numbers, load_dataset

    out = tmp_path / "worst.csv"
    code = cli.main(["evaluate", str(regressor.path), "--errors", str(out)])
    assert code == 0, capsys.readouterr().err
    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    test = load_dataset(regressor.config.dataset, target=Numbers("score"))["test"]
    predicted = dict(zip(test["text"], regressor.predict(test["text"]), strict=True))
    truth = dict(zip(test["text"], test["target"], strict=True))
    with open(regressor.config.dataset, newline="", encoding="utf-8") as file:
        written = {row["text"]: row["score"] for row in csv.DictReader(file)}
    assert sorted(r["text"] for r in rows) == sorted(test["text"])
    errors = [abs(float(r["error"])) for r in rows]
    assert errors == sorted(errors, reverse=True)
    for row in rows:
        expected = predicted[row["text"]]
        assert float(row["predicted"]) == pytest.approx(expected, abs=1e-5)
        assert float(row["target"]) == pytest.approx(truth[row["text"]], abs=1e-5)
        assert float(row["error"]) == pytest.approx(
            float(row["predicted"]) - float(row["target"]), abs=1e-5
        )
        # float32 numbers, written as the shortest decimals that read back as
        # them: a target is the file's own number (-1.279, not
        # -1.2790000438690186).
        assert float(row["target"]) == float(written[row["text"]])
        for column in ("predicted", "error"):
            assert len(row[column].lstrip("-")) <= 13, row


def test_a_regression_run_ships(regressor, tmp_path, capsys):
    """Its export answers as the run does everywhere (tests/shipping.py): one
    number per text, in a `prediction` column of a file."""
    from tests.shipping import assert_ships

    texts = ["good great fun", "bad", "a plain film", "great but bad"]
    exported = assert_ships(regressor, tmp_path, capsys, texts)
    np.testing.assert_allclose(
        exported.predict(texts), regressor.predict(texts), rtol=0, atol=1e-5
    )
    assert list(exported.head.column_kinds) == ["prediction"]
