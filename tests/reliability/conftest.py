"""Shared setup of the reliability tests: a tiny labelled file and a tiny
finished run, and the CLI run in-process or as a real process."""

import json
from pathlib import Path

import pytest

from tests.cli_output import one_line_error  # noqa: F401  (the tests here import it from this conftest)
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
