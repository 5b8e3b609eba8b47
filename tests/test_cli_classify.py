"""`textgru train classify`, `evaluate` and `predict`, and their one-line errors."""

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_output import error_lines, one_line_error, run_script, textgru
from tests.tiny import NEGATIVE, POSITIVE, TINY, labelled_rows, write_csv
from textgru import cli
from textgru.tasks import ClassifierConfig
from textgru.training.config import as_flags

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "sentiment.py"


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rows = labelled_rows(np.random.default_rng(2), 320, [NEGATIVE, POSITIVE])
    data = write_csv(folder / "d.csv", rows, ["neg", "pos"])
    out = folder / "run"
    code = cli.main(
        ["train", "classify", "--dataset", data, "--out", str(out), *as_flags(TINY)]
    )
    assert code == 0
    return out


def test_train_prints_a_summary_and_writes_the_run(cli_run, capsys):
    assert (cli_run / "model.keras").exists()
    config = json.loads((cli_run / "config.json").read_text())["config"]
    assert config["units"] == TINY["units"] and config["embed_dim"] == TINY["embed_dim"]


def test_predict_texts_file_and_stdin(cli_run, tmp_path, capsys, monkeypatch):
    assert (
        cli.main(["predict", str(cli_run), "good great superb", "awful dull boring"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"]
    label, probability, text = lines[0].split("\t")
    assert 0.5 <= float(probability) <= 1 and text == "good great superb"

    texts = tmp_path / "texts.txt"
    texts.write_text("good great superb\n\nawful dull boring\n", encoding="utf-8")
    assert cli.main(["predict", str(cli_run), "--file", str(texts), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # One output line per input line: the blank one too (so they line up).
    assert [r["text"] for r in rows] == ["good great superb", "", "awful dull boring"]
    assert [rows[0]["label"], rows[2]["label"]] == ["pos", "neg"]
    assert set(rows[0]["probabilities"]) == {"neg", "pos"}
    # --top-k: the likeliest labels with their probabilities, likeliest first.
    assert cli.main(["predict", str(cli_run), "--json", "--top-k", "2", "fun"]) == 0
    row = json.loads(capsys.readouterr().out)
    likeliest = sorted(row["probabilities"].items(), key=lambda item: -item[1])
    assert row["top"] == [list(item) for item in likeliest]
    assert row["top"][0][0] == row["label"]

    # Lines on stdin (bytes, decoded as the command decodes them).
    stdin = io.TextIOWrapper(io.BytesIO(b"good fun\nweak plot\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert cli.main(["predict", str(cli_run), "--json"]) == 0
    out = capsys.readouterr().out
    assert [json.loads(line)["label"] for line in out.splitlines()] == ["pos", "neg"]


def test_evaluate_prints_the_report(cli_run, capsys):
    assert cli.main(["evaluate", str(cli_run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    saved = json.loads((cli_run / "metrics.json").read_text())["test"]
    assert report == saved
    assert cli.main(["evaluate", str(cli_run), "--split", "validation", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_examples"] == 32
    # Without --json: a short table of the same numbers.
    assert cli.main(["evaluate", str(cli_run)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == (
        f"{report['num_examples']} texts: accuracy {report['accuracy']:.4f}, "
        f"macro-F1 {report['macro_f1']:.4f}"
    )
    for name in report["label_names"]:
        row = report["per_class"][name]
        line = next(line for line in table if line.startswith(name + " "))
        assert line.split()[1:] == [
            f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
            str(row["support"]),
        ]  # fmt: skip
    matrix = table[-len(report["label_names"]) :]
    assert [list(map(int, line.split()[1:])) for line in matrix] == (
        report["confusion_matrix"]
    )


def test_gates_draws_the_heatmap(cli_run, tmp_path, capsys):
    out = tmp_path / "figures" / "gates.png"
    code = cli.main(
        ["gates", str(cli_run), "good fun film", "a dull plot", "--out", str(out),
         "--gate", "update", "reset", "--units", "3,0", "--direction", "backward"]
    )  # fmt: skip
    assert code == 0 and capsys.readouterr().out.strip() == f"wrote {out}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "gates.svg"
    assert (
        cli.main(["gates", str(cli_run), "fun", "--out", str(svg), "--units", "mean"])
        == 0
    )
    assert svg.read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "gates.svg"]


ERRORS = [
    (["train", "classify", "--dataset", "no_such_dataset_xyz", "--out", "{tmp}/r"],
     "not a built-in"),
    (["train", "classify", "--no-such-flag", "1"], "unrecognized arguments"),
    (["train", "classify", "--units", "0", "--out", "{tmp}/r"],
     "Expected --units to be a positive integer"),
    (["train", "classify", "--pooling", "sum", "--out", "{tmp}/r"], "pooling"),
    (["predict", "{tmp}/missing", "hello"], "No run directory"),
    (["evaluate", "{tmp}/missing"], "No run directory"),
    (["predict", "{run}"], "No text given"),
    (["predict", "{run}", "--file", "{tmp}/none.txt"], "No such file"),
    (["gates", "{run}", "fun", "--out", "{tmp}/g.png", "--units", "all"],
     "Expected --units to be 'mean'"),
    (["gates", "{run}", "fun", "--out", "{tmp}/g.png", "--units", "3,99"],
     "unit indices"),
    (["gates", "{run}", "fun", "--out", "{tmp}/g.png", "--layer", "7"],
     "index one of the model's 1 GRU layers"),
    (["gates", "{run}", "fun", "--out", "{tmp}/g.xyz"], "Cannot write a figure"),
    (["gates", "{run}", "fun"], "the following arguments are required: --out"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), ERRORS)
def test_errors_are_one_line_with_exit_code_2(
    cli_run, tmp_path, args, message, capsys, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    args = [a.format(tmp=tmp_path, run=cli_run) for a in args]
    try:
        code = cli.main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    assert code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith("textgru: error: ")
    assert message in lines[0]
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()
    assert not list(tmp_path.glob("*g.*"))  # no figure, not even a partial one


def test_an_error_in_a_real_process_has_no_traceback(tmp_path):
    code, _, errors, stderr = textgru("predict", tmp_path / "missing", "hello")
    assert code == 2 and "Traceback" not in stderr
    assert errors == [f"textgru: error: No run directory at {tmp_path / 'missing'}"]


def test_run_with_a_missing_file_is_an_error(cli_run, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(cli_run, broken)
    (broken / "model.keras").unlink()
    code = cli.main(["predict", str(broken), "hello"])
    assert "missing model.keras" in one_line_error(capsys, code)


def test_flags_become_the_config():
    parser = cli.build_parser()
    args = parser.parse_args(
        ["train", "classify", "--units", "7", "--no-bidirectional",
         "--max-steps", "none", "--label-column", "stars", "--learning-rate", "0.01"]
    )  # fmt: skip
    config = cli.config_from_args(ClassifierConfig, args)
    assert config == ClassifierConfig(
        units=7, bidirectional=False, label_column="stars", learning_rate=0.01
    )


def test_recipe_is_the_same_command(capsys):
    assert run_script(RECIPE, "--help") == 0
    assert "--learning-rate" in capsys.readouterr().out
    code = run_script(RECIPE, "--epochs", "0")
    assert "Expected --epochs to be a positive integer" in one_line_error(capsys, code)


def test_predict_on_a_terminal_says_it_reads_stdin(cli_run, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("good great film\n"))
    assert cli.main(["predict", str(cli_run)]) == 0
    captured = capsys.readouterr()
    assert "reading texts from stdin" in captured.err
    assert captured.out.endswith("\tgood great film\n")


def test_gates_titles_name_the_text_and_the_prediction(cli_run, tmp_path, monkeypatch):
    from textgru.interpret import plots
    from textgru.tasks import ClassifierRun

    drawn = []
    real = plots.gate_heatmap

    def spy(activations, **kwargs):
        drawn.append(kwargs["titles"])
        return real(activations, **kwargs)

    monkeypatch.setattr(plots, "gate_heatmap", spy)
    texts = ["good fun film", "a dull plot"]
    out = tmp_path / "g.png"
    argv = ["gates", str(cli_run), *texts, "--out", str(out), "--gate", "update"]
    assert cli.main([*argv, "reset"]) == 0
    results = ClassifierRun.load(cli_run).predict(texts)
    assert drawn[0] == [
        f"{result['text']!r}, predicted {result['label']} "
        f"({result['probability']:.2f}): {gate} gate of forward_gru_0"
        for result in results
        for gate in ("update", "reset")
    ]


def test_texts_may_come_after_flags(cli_run, capsys):
    """`predict RUN --json TEXT` failed with "unrecognized arguments"."""
    assert cli.main(["predict", str(cli_run), "--json", "good great", "dull weak"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in rows] == ["good great", "dull weak"]
    assert cli.main(["predict", str(cli_run), "good", "--json", "dull"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in rows] == ["good", "dull"]
    # An unknown flag is still refused.
    with pytest.raises(SystemExit) as exit_:
        cli.main(["predict", str(cli_run), "--jsn", "good"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --jsn" in capsys.readouterr().err


def test_training_output_off_a_terminal_is_one_line_per_epoch(tmp_path, capsys):
    """Keras's bar rewrites its line with carriage returns; into a file or a
    pipe that filled megabytes. Off a terminal (as here, captured), each
    epoch is one line."""
    rows = labelled_rows(np.random.default_rng(5), 160, [NEGATIVE, POSITIVE])
    data = write_csv(tmp_path / "d.csv", rows, ["neg", "pos"])
    flags = as_flags({**TINY, "epochs": 2, "patience": 5})
    code = cli.main(
        ["train", "classify", "--dataset", data, "--out", str(tmp_path / "r"), *flags]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "\r" not in out and "\x08" not in out
    assert [line for line in out.splitlines() if line.startswith("Epoch")] == [
        "Epoch 1/2",
        "Epoch 2/2",
    ], out
