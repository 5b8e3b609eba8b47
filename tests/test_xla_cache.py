"""The CLI keeps XLA's compiled GRU loops on disk (textgru._xla_cache)."""

import os
import subprocess
import sys
import textwrap

import pytest

from textgru import _xla_cache


@pytest.fixture
def clean_env(monkeypatch):
    for name in (_xla_cache.SETTING, "TEXTGRU_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_XLA_FLAGS", "")  # and as it was after the test
    # configure() does nothing once TensorFlow is imported, as it is here.
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    return monkeypatch


def test_the_default_folder_is_per_tensorflow_version_and_cpu(clean_env, tmp_path):
    folder = _xla_cache.configure(tmp_path)
    assert folder.parent == tmp_path / "xla" and folder.is_dir()
    assert folder.name.startswith("tensorflow-2.")
    assert f"--tf_xla_persistent_cache_directory={folder}" in os.environ["TF_XLA_FLAGS"]


def test_off_and_a_users_own_cache_flag_are_kept(clean_env, tmp_path):
    clean_env.setenv(_xla_cache.SETTING, "off")
    assert _xla_cache.configure(tmp_path) is None
    assert os.environ["TF_XLA_FLAGS"] == ""
    clean_env.delenv(_xla_cache.SETTING)
    own = f"--tf_xla_persistent_cache_directory={tmp_path}"
    clean_env.setenv("TF_XLA_FLAGS", own)
    assert _xla_cache.configure(tmp_path) is None
    assert os.environ["TF_XLA_FLAGS"] == own


def run_cached(folder, body):
    """Run `body` (Python, indented under `with _quiet.filtered_stderr():`)
    in a fresh process with the XLA cache in `folder`, loaded lazily as the
    `textgru` command loads it (no TensorFlow before `configure`), with
    `keras`, `np`, `tf` and `textgru` imported; the finished process."""
    env = dict(os.environ, TEXTGRU_XLA_CACHE=str(folder), TEXTGRU_LAZY_IMPORT="1")
    env.pop("TF_XLA_FLAGS", None)
    script = (
        "from textgru import _quiet, _xla_cache\n"
        "assert _xla_cache.configure('unused')\n"
        "with _quiet.start_up():\n"
        "    import keras, numpy as np, tensorflow as tf, textgru\n"
        "with _quiet.filtered_stderr():\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, timeout=300,
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_command_leaves_compiled_loops_for_the_next_quietly(tmp_path):
    """A fresh `textgru` process on the fast path writes the loops it
    compiled; the next reads them instead of compiling again, and the errors
    TensorFlow prints for each loop it reads, though it reads it, are not
    shown (as the `textgru` command filters its stderr)."""
    folder = tmp_path / "cache"
    body = "tf.function(textgru.GRU(4))(np.ones((2, 5, 3), 'float32'))\n"
    runs = [run_cached(folder, body)]
    written = sorted(folder.glob("*XLA_CPU_JIT*"))
    assert written
    runs.append(run_cached(folder, body))
    assert sorted(folder.glob("*XLA_CPU_JIT*")) == written  # read, not compiled
    for run in runs:
        assert run.stderr.strip() == "", run.stderr[-2000:]
