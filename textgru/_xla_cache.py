"""XLA's compiled GRU loops kept on disk, so that each `textgru` command (a
new process) reuses the loops an earlier one compiled instead of compiling
them again.

textgru.GRU's fast loop is compiled by XLA once per length and batch shape:
a few seconds in a fresh process, which a short command such as `textgru
predict` on 10,000 texts would otherwise pay every time. TensorFlow keeps
such a cache itself when `TF_XLA_FLAGS` names a folder; the CLI names one
before TensorFlow starts:

- `$TEXTGRU_XLA_CACHE`, or by default `xla/<TensorFlow version>-<CPU>` in
  textgru's data home (`$TEXTGRU_HOME`, default `~/.cache/textgru`). The
  folder is per TensorFlow version and per CPU instruction set, since the
  compiled code is machine code for them;
- `TEXTGRU_XLA_CACHE=off` keeps no cache;
- a `TF_XLA_FLAGS` that already names a cache folder is left as it is.

The folder holds machine code that TensorFlow loads and runs, so it must be
the user's own: textgru makes it private (0700), and does not use a folder
that another user owns or that others may write to (one status line says
so). An entry that is damaged (cut short, or another entry's file under
this one's name) would make every later command fail until deleted, so each
start checks the entries and drops a damaged one, which is then compiled
again (one status line); an entry that changed since the process that
wrote it ended (its time, size and sha256, kept in `INDEX`) is dropped too.
An entry with the time and size its index records is not read again, so a
command's start costs a `stat` per entry.
"""

import atexit
import hashlib
import importlib.metadata
import json
import os
import platform
import stat
import sys
from pathlib import Path

from textgru._status import say

SETTING = "TEXTGRU_XLA_CACHE"
_FLAG = "--tf_xla_persistent_cache_directory"


def configure(data_home):
    """Name the cache folder in `TF_XLA_FLAGS`, before TensorFlow is
    imported (afterwards it would not read it); by default a folder under
    `data_home` (`textgru.data.catalog.data_home()`). Does nothing where it
    cannot (no TensorFlow, a folder it cannot make)."""
    setting = os.environ.get(SETTING, "").strip()
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if setting.lower() == "off" or _FLAG in flags or "tensorflow" in sys.modules:
        return None
    version = _tensorflow_version()
    if version is None:
        return None
    folder = Path(setting) if setting else _default_folder(data_home, version)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        whose = "another user's" if info.st_uid != os.getuid() else "writable by others"
        say(
            f"not using the XLA cache {folder}: it is {whose}, and the code in it "
            f"would be run (set {SETTING} to a folder of your own, or off)"
        )
        return None
    dropped = heal(folder)
    if dropped:
        say(
            f"dropped {dropped} damaged entr{'y' if dropped == 1 else 'ies'} of the "
            f"XLA cache {folder}; compiling again"
        )
    atexit.register(_index, folder)
    os.environ["TF_XLA_FLAGS"] = (
        f"{flags} {_FLAG}={folder} --tf_xla_persistent_cache_device_types=CPU"
    ).strip()
    return folder


# The distributions that install the `tensorflow` package (read without
# importing it, which would be too late and take seconds).
_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly")


def _tensorflow_version():
    for name in _DISTRIBUTIONS:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _default_folder(data_home, version):
    return Path(data_home) / "xla" / f"tensorflow-{version}-{_cpu()}"


def _cpu():
    """The machine and a short hash of its CPU's instruction-set flags."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next(
                (line for line in info if line.startswith(("flags", "Features"))), ""
            )
    except OSError:
        flags = platform.processor()
    return f"{platform.machine()}-{hashlib.sha256(flags.encode()).hexdigest()[:12]}"


# sha256 of each entry, recorded as a process that used the cache ends.
INDEX = "textgru-index.json"


def heal(folder):
    """Delete the damaged entries of the cache `folder` (see the module);
    returns how many."""
    index = _read_index(folder)
    dropped = 0
    for path in sorted(Path(folder).glob("*.pb")):
        recorded = index.get(path.name)
        try:
            if _unchanged(path, recorded):
                continue  # as whole as when it was indexed: not read again
            data = path.read_bytes()
        except OSError:
            continue
        sha256 = recorded.get("sha256") if isinstance(recorded, dict) else None
        damaged = _entry_name(data) != path.name or (
            sha256 is not None and sha256 != hashlib.sha256(data).hexdigest()
        )
        if damaged:
            try:
                path.unlink()
                dropped += 1
            except OSError:
                pass
    return dropped


def _read_index(folder):
    try:
        index = json.loads((Path(folder) / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return index if isinstance(index, dict) else {}


def _index(folder):
    """Record the sha256 of the entries that are whole (at exit): of those
    written since the index was (by their time and size) read again."""
    try:
        index = _read_index(folder)
        present = {}
        for path in Path(folder).glob("*.pb"):
            recorded = index.get(path.name)
            if _unchanged(path, recorded):
                present[path.name] = recorded
                continue
            info = path.stat()
            seen = {"mtime_ns": info.st_mtime_ns, "bytes": info.st_size}
            data = path.read_bytes()
            if _entry_name(data) == path.name:
                present[path.name] = {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    **seen,
                }
        tmp = Path(folder) / f".{INDEX}.{os.getpid()}"
        tmp.write_text(json.dumps(present), encoding="utf-8")
        os.replace(tmp, Path(folder) / INDEX)
    except OSError:
        pass  # the cache is an optimisation: never fail a command over it


def _unchanged(path, recorded):
    """Whether the entry at `path` has the time and size its index record
    says (so it is the file that was hashed and found whole)."""
    if not isinstance(recorded, dict):
        return False
    info = path.stat()
    return (recorded.get("mtime_ns"), recorded.get("bytes")) == (
        info.st_mtime_ns,
        info.st_size,
    )


def _entry_name(data):
    """The file name TensorFlow gives the cache entry `data` (a serialized
    `XlaSerializedCacheEntry`, whose field 1 is its key: signature and
    cluster fingerprints, device type, prefix), or None if `data` does not
    parse as one whole."""
    try:
        fields = _fields(data)
        key = _fields(next(value for number, value in fields if number == 1))
    except (ValueError, StopIteration):
        return None
    parts = {number: value for number, value in key}
    try:
        prefix, device = parts[4].decode(), parts[3].decode()
        return f"{prefix}__{parts[1]}__{parts[2]}__{device}.pb"
    except (KeyError, AttributeError, UnicodeDecodeError):
        return None


def _fields(data):
    """The (field number, value) pairs of protobuf wire-format `data`: ints
    for varints, bytes for length-delimited fields; ValueError unless it
    parses to its end."""
    fields, at = [], 0
    while at < len(data):
        tag, at = _varint(data, at)
        number, kind = tag >> 3, tag & 7
        if kind == 0:
            value, at = _varint(data, at)
        elif kind == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ValueError("cut short")
            value, at = data[at : at + size], at + size
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
            value = None
        else:
            raise ValueError(f"wire type {kind}")
        if at > len(data):
            raise ValueError("cut short")
        fields.append((number, value))
    return fields


def _varint(data, at):
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at
