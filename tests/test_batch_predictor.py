"""An export inside an engine (`textgru.deploy.BatchPredictor`): batches of
rows labelled as `predict` labels them, and `recipes/label_with_ray.py`
labelling Parquet files with Ray Data on this machine (local mode: Ray's
processes started and stopped by the test), each row checked against the
export's own prediction."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli_output import run_script
from textgru.deploy import BatchPredictor
from textgru.errors import DatasetError, RunError

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "label_with_ray.py"
TEXTS = ["good fun film", "a dull boring plot", "the actor", "superb lovely scene"]


def _expected(export, texts):
    return export.predict_proba(list(texts))


def test_a_batch_gains_the_label_columns(tiny_export):
    run, export = tiny_export
    predictor = BatchPredictor(export.path)
    frame = pd.DataFrame({"id": range(4), "text": TEXTS})
    labelled = predictor(frame)
    assert list(labelled.columns) == [
        "id", "text", "label", "probability", "p_neg", "p_pos"
    ]  # fmt: skip
    expected = run.predict(TEXTS)
    assert list(labelled["label"]) == [r["label"] for r in expected]
    np.testing.assert_allclose(
        labelled[["p_neg", "p_pos"]].to_numpy(), _expected(export, TEXTS), atol=1e-6
    )
    np.testing.assert_allclose(
        labelled["probability"], [r["probability"] for r in expected], atol=1e-5
    )
    assert list(frame.columns) == ["id", "text"]  # the input is left as it was
    # A dict of columns (Ray's "numpy" batches) gives a dict.
    columns = predictor({"text": np.asarray(TEXTS, dtype=object)})
    assert set(columns) == {"text", "label", "probability", "p_neg", "p_pos"}
    np.testing.assert_allclose(columns["p_pos"], labelled["p_pos"], atol=0)
    # An engine's empty block, and another text column.
    assert len(predictor(frame.iloc[:0])) == 0
    renamed = BatchPredictor(export.path, text_column="review")
    again = renamed(frame.rename(columns={"text": "review"}))
    np.testing.assert_allclose(again["p_pos"], labelled["p_pos"], atol=0)


def test_bad_batches_and_a_run_folder_are_one_line(tiny_export):
    run, export = tiny_export
    predictor = BatchPredictor(export.path)
    with pytest.raises(DatasetError, match="no 'text' column .*: id, review"):
        predictor(pd.DataFrame({"id": [1], "review": ["a film"]}))
    with pytest.raises(DatasetError, match="Row 2 has no text"):
        predictor(pd.DataFrame({"text": ["a film", None]}))
    with pytest.raises(DatasetError, match="already has a column named label"):
        predictor(pd.DataFrame({"text": ["a film"], "label": ["pos"]}))
    with pytest.raises(RunError, match="not an export.*textgru export"):
        BatchPredictor(run.path)


def _parquet_files(folder, count, rows):
    """`count` Parquet files of `rows` texts each, with an `id` column."""
    rng = np.random.default_rng(0)
    words = "good fun film dull boring plot the actor superb lovely scene".split()
    folder.mkdir()
    texts = []
    for part in range(count):
        chunk = [
            " ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(rows)
        ]
        ids = range(part * rows, (part + 1) * rows)
        pd.DataFrame({"id": ids, "text": chunk}).to_parquet(
            folder / f"part-{part}.parquet"
        )
        texts += chunk
    return texts


def test_ray_data_labels_parquet_files_as_the_export_does(
    tiny_export, tmp_path, capsys
):
    pytest.importorskip("ray")  # textgru[ray]; the dev extras install it
    _, export = tiny_export
    texts = _parquet_files(tmp_path / "in", 3, 150)
    out = tmp_path / "out"
    code = run_script(
        RECIPE, export.path, tmp_path / "in", "--output", out, "--workers", "2",
        "--batch-size", "64",
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err[-3000:]
    assert f"labelled {len(texts)} texts" in capsys.readouterr().out
    labelled = pd.read_parquet(out).sort_values("id")
    assert list(labelled["id"]) == list(range(len(texts)))  # every row, once
    assert list(labelled["text"]) == texts
    np.testing.assert_allclose(
        labelled[["p_neg", "p_pos"]].to_numpy(), _expected(export, texts), atol=1e-6
    )
    expected = [r["label"] for r in export.predict(texts)]
    assert list(labelled["label"]) == expected

    # Bad input: one line, exit 2, and no output folder made.
    for args, message in (
        ([tmp_path / "in", "--output", out], "already exists"),
        ([tmp_path / "nothing*.csv", "--output", tmp_path / "o2"], "No input files"),
    ):
        assert run_script(RECIPE, export.path, *args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("label_with_ray: error: ") and message in err
        assert "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o2").exists()
