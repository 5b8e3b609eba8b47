"""`textgru predict --input`, given files a user really has: a byte-order
mark, a huge CSV field, an escaped lone surrogate, columns to keep or a
column the answers would overwrite; stopped by SIGTERM or a full disk; and
on a terminal, where it shows its progress. Each is labelled or refused in
one line, and no half-written output is left."""

import csv
import errno
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.cli_output import ENTRY, one_line_error
from textgru import cli
from textgru.deploy import labelling

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def export(tiny_export):
    return str(tiny_export[1].path)


def _rows(path):
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_a_csv_with_a_byte_order_mark_is_read(export, tmp_path, capsys):
    source = tmp_path / "bom.csv"
    source.write_bytes("\ufefftext\ngood film\n".encode())
    out = tmp_path / "out.csv"
    assert (
        cli.main(["predict", export, "--input", str(source), "--output", str(out)]) == 0
    )
    assert [row["text"] for row in _rows(out)] == ["good film"]


def test_a_csv_field_larger_than_pythons_default_is_read(export, tmp_path):
    long = "good film " * 100_000  # 1 MB: csv's default limit is 128 KiB
    source = tmp_path / "long.csv"
    with open(source, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([["text"], [long], ["dull plot"]])
    out = tmp_path / "out.jsonl"
    labelling.label_file(labelling_model(export), source, out)
    assert [row["text"] for row in _rows(out)] == [long, "dull plot"]


def labelling_model(export):
    from textgru.deploy.runtime import load_export

    return load_export(export)


def test_an_escaped_lone_surrogate_is_one_line(export, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "good"}\n{"text": "bad \\ud800"}\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    assert (
        cli.main(["predict", export, "--input", str(source), "--output", str(out)]) == 2
    )
    assert "line 2: a lone surrogate" in one_line_error(capsys, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    # In a field beside the text, too (it could not be written back).
    source.write_text('{"text": "good", "note": "\\udc00"}\n', encoding="utf-8")
    assert (
        cli.main(["predict", export, "--input", str(source), "--output", str(out)]) == 2
    )
    assert "line 1: a lone surrogate" in one_line_error(capsys, 2)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_the_inputs_columns_are_kept_or_chosen(export, tmp_path, capsys, suffix):
    source = tmp_path / "in.csv"
    with open(source, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(
            [["id", "text", "source"], [7, "good film", "web"], [9, "dull", "mail"]]
        )
    out = tmp_path / f"out{suffix}"
    base = ["predict", export, "--input", str(source), "--output", str(out)]
    assert cli.main(base) == 0
    rows = _read(out)
    assert list(rows[0])[:3] == ["id", "text", "source"] and "label" in rows[0]
    assert [str(row["id"]) for row in rows] == ["7", "9"]
    assert cli.main([*base, "--overwrite", "--columns", "id"]) == 0
    rows = _read(out)
    assert (
        list(rows[0])[0] == "id" and "text" not in rows[0] and "source" not in rows[0]
    )
    assert cli.main([*base, "--overwrite", "--columns", "id,nothing"]) == 2
    assert "no column 'nothing' to keep" in one_line_error(capsys, 2)


def _read(path):
    if path.suffix == ".parquet":
        import pyarrow.parquet as parquet

        return parquet.read_table(path).to_pylist()
    return _rows(path)


def test_a_column_the_answers_would_overwrite_is_refused(export, tmp_path, capsys):
    source = tmp_path / "gold.csv"
    source.write_text("text,label\ngood film,pos\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    base = ["predict", export, "--input", str(source), "--output", str(out)]
    assert cli.main(base) == 2
    assert "already has a column named label" in one_line_error(capsys, 2)
    assert cli.main([*base, "--columns", "text"]) == 0  # left out: labelled


def test_a_full_disk_says_to_free_space_and_run_again(
    export, tmp_path, capsys, monkeypatch
):
    source = tmp_path / "in.csv"
    source.write_text("text\ngood film\n", encoding="utf-8")

    def full(self, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(labelling._CsvWriter, "write", full)
    out = tmp_path / "out.csv"
    assert (
        cli.main(["predict", export, "--input", str(source), "--output", str(out)]) == 1
    )
    line = one_line_error(capsys, 1, expected_code=1)
    assert "free some space, then run it again" in line and "--resume" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def _big_input(path, rows=200_000):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text"])
        writer.writerows([f"good film number {i} dull plot"] for i in range(rows))
    return path


def test_sigterm_mid_file_leaves_no_temporary_file(export, tmp_path):
    source = _big_input(tmp_path / "in.csv")
    out = tmp_path / "out" / "labels.csv"
    out.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "predict", export, "--input", str(source),
         "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(out.parent.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(out.parent.iterdir()), "no temporary output appeared"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
    assert list(out.parent.iterdir()) == []
    assert "Traceback" not in process.stderr.read()


def test_a_progress_bar_shows_on_a_terminal(export, tmp_path):
    """stderr a real terminal (a pty): tqdm's bar, with the rows' rate, is
    drawn around the filter that stderr otherwise passes through."""
    source = _big_input(tmp_path / "in.csv", rows=60_000)
    out = tmp_path / "out.csv"
    leader, follower = pty.openpty()
    # A terminal's size (a new pty has none: 0 columns, where tqdm draws nothing).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "predict", export, "--input", str(source),
         "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
        assert process.wait(timeout=30) == 0, seen[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    text = seen.decode("utf-8", "replace")
    assert "textgru: labelling:" in text and "%|" in text, text[-2000:]
    assert "texts/s" in text, text[-2000:]
    assert "labelled 60,000 texts" in text


def test_a_kept_field_of_mixed_types_into_parquet_is_one_line(export, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "good"}\n{"id": "b", "text": "dull"}\n')
    out = tmp_path / "out.parquet"
    argv = ["predict", export, "--input", str(source), "--output", str(out)]
    assert cli.main(argv) == 2
    assert "changes type" in one_line_error(capsys, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    assert cli.main([*argv, "--columns", "text"]) == 0
