"""No traceback for places and streams that cannot be used: each is one
`textgru: error:` line, exit 2 for what the user can fix and exit 1 for a
failure of the system (a full disk, with the run left resumable); predict
keeps its output in line with its input, and evaluate --dataset scores the
whole file."""

import collections
import json
import shutil
import subprocess
import sys

from tests.cli_output import ENTRY
from textgru import cli
from textgru.training import run_directory

from .conftest import FLAGS, one_line_error


def test_gates_out_naming_a_folder(finished, tmp_path, capsys):
    code = cli.main(["gates", str(finished), "good", "--out", str(tmp_path)])
    assert "is a folder" in one_line_error(capsys, code)


def test_predict_file_naming_a_folder(finished, tmp_path, capsys):
    code = cli.main(["predict", str(finished), "--file", str(tmp_path)])
    assert "is a folder" in one_line_error(capsys, code)


def test_predict_with_stdin_closed(finished):
    result = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -c "{ENTRY}" predict "{finished}" <&-'],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [x for x in result.stderr.splitlines() if x.startswith("textgru: error")]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines == [
        "textgru: error: No text given: give texts as arguments, --file, or lines "
        "on stdin"
    ]


def test_a_data_home_that_cannot_be_made(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    monkeypatch.setenv("TEXTGRU_HOME", str(blocker / "home"))
    code = cli.main(
        ["train", "classify", "--dataset", "sms_spam", "--out", str(tmp_path / "r")]
    )
    assert "Not a directory" in one_line_error(capsys, code)


def test_a_full_disk_is_one_line_and_leaves_a_resumable_run(
    reviews, tmp_path, monkeypatch, capsys
):
    import textgru.training.callbacks

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(
        textgru.training.callbacks.shutil,
        "disk_usage",
        lambda path: usage(1 << 30, 1 << 30, 1),
    )
    out = tmp_path / "r"
    code = cli.main(
        ["train", "classify", "--dataset", reviews, "--out", str(out)] + FLAGS
    )
    line = one_line_error(capsys, code, expected_code=1)
    assert "No space left on device" in line and "--resume" in line
    assert run_directory.workdir_for(out).is_dir() and not out.exists()
    monkeypatch.undo()
    flags = [*FLAGS, "--resume"]
    assert (
        cli.main(["train", "classify", "--dataset", reviews, "--out", str(out), *flags])
        == 0
    )
    assert run_directory.is_run(out)


def test_predict_keeps_one_output_line_per_input_line(finished, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("good fun film\n\n   \ndull weak plot\n")
    capsys.readouterr()
    assert cli.main(["predict", str(finished), "--file", str(texts), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert [
        json.loads(line)["text"] for line in lines
    ] == texts.read_text().splitlines()


def test_evaluate_another_file_scores_every_row(finished, reviews, tmp_path, capsys):
    other = tmp_path / "other.csv"
    shutil.copy(reviews, other)
    capsys.readouterr()
    evaluate = ["evaluate", str(finished), "--dataset", str(other), "--json"]
    assert cli.main(evaluate) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_examples"] == len(other.read_text().splitlines()) - 1
    assert cli.main([*evaluate, "--split", "test"]) == 0
    assert json.loads(capsys.readouterr().out)["num_examples"] < report["num_examples"]


def test_evaluate_reads_a_file_with_its_own_column_names(finished, tmp_path, capsys):
    lines = ["review,stars", "a good great film,pos", "a dull boring plot,neg"]
    other = tmp_path / "stars.csv"
    other.write_text("\n".join(lines) + "\n", encoding="utf-8")
    evaluate = ["evaluate", str(finished), "--dataset", str(other), "--json"]
    code = cli.main([*evaluate, "--text-column", "review", "--label-column", "stars"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["num_examples"] == 2
    # A label the run never saw is one line naming it.
    other.write_text("review,stars\na fine film,meh\n", encoding="utf-8")
    code = cli.main([*evaluate, "--text-column", "review", "--label-column", "stars"])
    assert "meh" in one_line_error(capsys, code)


def test_tensorboard_without_the_extra_is_refused_before_a_run_exists(
    reviews, tmp_path, capsys, monkeypatch
):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else find_spec(name, *a),
    )
    out = tmp_path / "r"
    argv = ["train", "classify", "--dataset", reviews, "--out", str(out)]
    code = cli.main([*argv, "--tensorboard", *FLAGS])
    assert "--tensorboard needs TensorBoard" in one_line_error(capsys, code)
    assert not out.exists() and not run_directory.workdir_for(out).exists()
