"""Shared setup of the reliability tests: a tiny labelled file and a tiny
finished run, and the CLI run in-process or as a real process."""

import json
from pathlib import Path

import pytest

from tests.cli_output import error_lines
from tests.tiny import TINY
from textgru import cli
from textgru.training.config import as_flags

FLAGS = as_flags({**TINY, "epochs": 1})


@pytest.fixture(scope="package")
def finished(reviews, tmp_path_factory):
    """A finished classification run (read it, never change it)."""
    out = tmp_path_factory.mktemp("runs") / "run"
    assert (
        cli.main(["train", "classify", "--dataset", reviews, "--out", str(out), *FLAGS])
        == 0
    )
    return out


def one_line_error(capsys, code, expected_code=2):
    """The single `textgru: error:` line the CLI printed, checked (progress
    bars of `datasets` may come before it)."""
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert code == expected_code, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("textgru: error: "), err[-2000:]
    return lines[0]


def reseal(run, **facts):
    """Recompute `run`'s manifest after editing its files, as anyone who can
    edit the folder can (`facts` replace the manifest's others)."""
    from textgru.training import run_directory
    from textgru.training.run_folder import file_entries

    path = Path(run) / run_directory.MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(files=file_entries(run), **facts)
    path.write_text(json.dumps(manifest))
    return manifest
