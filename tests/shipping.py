"""The check every task that answers texts passes (tests/test_multilabel.py,
tests/test_regression.py, tests/test_deploy.py): its run exports to ONNX,
and the export answers as the run does, to 1e-5, everywhere it is used:
in Python, `textgru predict` (texts and files), over HTTP, its update gates
(`textgru gates EXPORT`), and in a process where TensorFlow cannot be
imported."""

import csv
import json
import subprocess
import sys

import numpy as np

from tests.cli_output import without

# A process where importing the training stack fails, as on a machine with
# only onnxruntime, tokenizers, NumPy and matplotlib: it answers a text and
# draws its gates from the export, then names the heavy modules it imported.
NO_STACK = (
    without("tensorflow", "keras", "jax", "torch", "datasets")
    + """
import json
import textgru_cli
export, text, image = sys.argv[1:]
codes = [
    textgru_cli.main(["predict", export, "--json", text]),
    textgru_cli.main(["gates", export, text, "--out", image]),
]
heavy = sorted(set(BLOCKED) & {name.split(".")[0] for name in sys.modules})
print(json.dumps({"codes": codes, "heavy": heavy}))
"""
)


def assert_close(got, expected, atol=1e-5):
    """Two answers (dicts, lists or numbers) alike, numbers to `atol`."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), (got, expected)
        for key in expected:
            assert_close(got[key], expected[key], atol)
    elif isinstance(expected, list | tuple):
        assert len(got) == len(expected), (got, expected)
        for mine, yours in zip(got, expected, strict=True):
            assert_close(mine, yours, atol)
    elif isinstance(expected, float):
        assert abs(got - expected) <= atol, (got, expected)
    else:
        assert got == expected, (got, expected)


def assert_ships(run, tmp_path, capsys, texts):
    """Export `run` and check its export everywhere; returns the export."""
    from tests.local_server import serving
    from tests.test_serve import _post
    from textgru import cli
    from textgru.deploy import exporter
    from textgru.deploy.server import make_app

    exported = exporter.export(run, tmp_path / "export")
    spec = json.loads((exported.path / "export.json").read_text())
    assert spec["task"] == run.task.name and spec["head"] == run.head.facts()
    assert spec["checked"]["largest_difference"] <= exporter.TOLERANCE
    np.testing.assert_allclose(
        exported.outputs(texts), run.outputs(texts), rtol=0, atol=1e-5
    )
    expected = run.answers(texts)
    assert_close(exported.answers(texts), expected)

    # textgru predict: the same lines from the run and from its export.
    printed = []
    for folder in (run.path, exported.path):
        assert cli.main(["predict", str(folder), "--json", *texts]) == 0
        printed.append(
            [json.loads(line) for line in capsys.readouterr().out.split("\n") if line]
        )
    assert_close(printed[0], expected)
    assert_close(printed[1], expected)
    assert cli.main(["predict", str(exported.path), texts[0]]) == 0
    assert capsys.readouterr().out == run.head.line(expected[0]) + "\n"

    # A file in each format: one row per text, the text and the head's columns.
    source = tmp_path / "in.csv"
    with open(source, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([["id", "text"], *enumerate(texts)])
    columns = run.head.columns(run.outputs(texts))
    for suffix in (".csv", ".jsonl", ".parquet"):
        target = tmp_path / f"out{suffix}"
        args = ["predict", str(exported.path), "--input", str(source)]
        assert cli.main([*args, "--output", str(target)]) == 0
        capsys.readouterr()
        rows = _read(target)
        assert [row["text"] for row in rows] == texts
        if suffix == ".jsonl":  # the row's id, then its answer
            assert [list(row)[0] for row in rows] == ["id"] * len(rows)
            assert_close([{**row, "id": None} for row in rows],
                         [{"id": None, **answer} for answer in expected])  # fmt: skip
            continue
        assert list(rows[0]) == ["id", "text", *run.head.column_kinds]
        for name, kind in run.head.column_kinds.items():
            got = [row[name] for row in rows]
            if kind == "float":
                np.testing.assert_allclose(
                    np.asarray(got, float), columns[name], rtol=1e-5, atol=1e-5
                )
            else:
                assert [str(value) for value in got] == list(columns[name])

    # Over HTTP: the answers and the update gates (uvicorn leaves logging as
    # it is, log_config=None: its dictConfig would close the handlers that
    # hold pytest's captured stderr).
    with serving(make_app(exported), log_config=None) as (url, _):
        status, body = _post(url + "/predict", {"texts": texts}, key=None)
        assert status == 200, body
        assert_close(body["predictions"], expected)
        status, gates = _post(url + "/gates", {"text": texts[0]}, key=None)
        assert status == 200, gates
    found = run.update_gates(texts[0])
    assert gates["tokens"] == found["tokens"]
    for served, own in zip(gates["layers"], found["layers"], strict=True):
        np.testing.assert_allclose(served["update"], own["update"], rtol=0, atol=1e-5)

    # textgru gates EXPORT: the run's update gates, from gates.onnx.
    for direction in dict.fromkeys(e["direction"] for e in found["layers"]):
        mine = exported.gate_activations(texts[:2], direction=direction)
        theirs = run.gate_activations(texts[:2], direction=direction)
        for a, b in zip(mine, theirs, strict=True):
            assert a.tokens == b.tokens
            np.testing.assert_allclose(a.update, b.update, rtol=0, atol=1e-5)

    # Where TensorFlow cannot be imported.
    image = tmp_path / "gates.png"
    result = subprocess.run(
        [sys.executable, "-c", NO_STACK, str(exported.path), texts[0], str(image)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert_close(json.loads(lines[0]), expected[0])
    assert json.loads(lines[-1]) == {"codes": [0, 0], "heavy": []}, result.stderr
    assert image.stat().st_size > 1000
    return exported


def _read(path):
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    import pyarrow.parquet as parquet

    return parquet.read_table(path).to_pylist()
