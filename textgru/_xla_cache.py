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
"""

import hashlib
import importlib.metadata
import os
import platform
import sys
from pathlib import Path

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
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
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
