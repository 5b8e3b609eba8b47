"""The manifest.json of a folder textgru wrote (a run, an export): each
file's sha256 and size, written when the folder is finished and checked
before anything in it is used, so a file changed since is refused in one
line. One module writes and checks both kinds of folder; what differs is
said by a `Kind` (which error, whose files, how to put things right).

Only the standard library: an export is checked without TensorFlow.
"""

import dataclasses
import errno
import hashlib
import json
import os
import stat
from pathlib import Path

from textgru._atomic import write_text

NAME = "manifest.json"
# A listed file larger than this is checked in blocks before it is read
# whole, so a large file that is not the folder's own is never held.
HASH_FIRST = 64 << 20


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of folder: `what` ("run", "export"), the `error` class its
    problems raise, `again` (how a user makes the folder anew), and
    whether its files may sit in folders of their own (`nested`)."""

    what: str
    error: type
    again: str
    nested: bool = False


def entries(folder, kind):
    """The `files` table of `folder`: each file's sha256 and size, by its
    name (of a nested kind, its path inside the folder), the manifest aside."""
    folder = Path(folder)
    found = folder.rglob("*") if kind.nested else folder.iterdir()
    return {
        path.relative_to(folder).as_posix(): {
            "sha256": sha256_of(path),
            "bytes": path.stat().st_size,
        }
        for path in sorted(found)
        if path.is_file() and path.relative_to(folder).as_posix() != NAME
    }


def write(folder, kind, **facts):
    """Write `folder`'s manifest (its `entries`, and `facts` beside them);
    returns what it wrote."""
    manifest = {**facts, "files": entries(folder, kind)}
    write_text(Path(folder) / NAME, json.dumps(manifest, indent=2))
    return manifest


def files_of(manifest, where, kind):
    """The `files` table of a parsed manifest, after checking it has the
    shape textgru writes: each entry a file of the folder (a plain name, or
    a path inside it of a nested kind) with its sha256 and size."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise kind.error(f"{where} is damaged: it has no `files` table")
    for name, entry in files.items():
        parts = Path(name).parts
        if (
            not parts
            or Path(name).is_absolute()
            or any(part in ("", ".", "..") for part in parts)
            or (len(parts) > 1 and not kind.nested)
            or not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or type(entry.get("bytes")) is not int
        ):
            raise kind.error(
                f"{where} is damaged: its entry {name!r} is not a file of the "
                f"{kind.what} with sha256 and bytes"
            )
    return files


def check(folder, name, entry, kind, read=False):
    """Check one listed file of `folder` against its manifest `entry` (a
    plain file, no link, its size, its sha256); with `read`, return its
    bytes (the bytes checked, so nothing can change between the check and
    their use). The size is compared before a byte is read: a file larger
    than the folder wrote is never read whole."""
    folder = Path(folder)
    path = folder / name
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()):
        raise kind.error(
            f"{path} is a link, and a {kind.what} holds only its own files"
        )
    changed = kind.error(
        f"{path} is not the file this {kind.what} wrote (its checksum differs "
        f"from its {NAME}); {kind.again}"
    )
    if read:
        if entry["bytes"] > HASH_FIRST:  # hashed in blocks before it is held
            check(folder, name, entry, kind)
        data = read_limited(path, entry["bytes"], kind, too_large=changed)
        if (
            len(data) != entry["bytes"]
            or hashlib.sha256(data).hexdigest() != (entry["sha256"])
        ):
            raise changed
        return data
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise _not_a_file(path, kind)
    if info.st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
        raise changed
    return None


def read_limited(path, limit, kind, too_large=None):
    """The bytes of the plain file `path`, at most `limit` of them: a link,
    a pipe or a device is refused without waiting on it, and a file larger
    than `limit` without reading it (`too_large`, or a `kind.error` that
    says so). A missing file raises `FileNotFoundError`."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise kind.error(
                f"{path} is a link, and a {kind.what} holds only its own files"
            ) from None
        raise
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _not_a_file(path, kind)
        if info.st_size > limit:
            raise too_large or kind.error(
                f"{path} is larger than a {kind.what} writes ({info.st_size:,} "
                f"bytes, more than {limit:,}): it is not its own; {kind.again}"
            )
        return file.read(limit + 1)


def _not_a_file(path, kind):
    return kind.error(
        f"{path} is not a plain file (a pipe, a device or a folder), and a "
        f"{kind.what} holds only its own files; {kind.again}"
    )


def sha256_of(path):
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
