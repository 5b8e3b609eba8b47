"""Issue 28's hostile round: a run folder, a port or a symlink is no way in.

Each case is one of the 31 defects the round found (or a variant of one):
loading never imports code a run folder names unless the user trusts it; the
lock, the working folder and `--out` are never written through a link;
the manifest cannot be switched off and run files are read with limits; the
XLA cache is the user's own and heals itself; a checkpoint that cannot be
written leaves the last good one; bad flags, data and cells are one-line
errors. Every CLI case checks the exit code, the one line, no traceback, and
that nothing outside the run changed.
"""

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

import textgru
from tests.cli_output import error_lines
from tests.test_xla_cache import run_cached
from textgru import _xla_cache, cli
from textgru.errors import (
    DatasetError,
    InvalidArgumentError,
    RunError,
    RunIntegrityError,
    UntrustedCodeError,
    message_of,
)
from textgru.layers import GRUCell
from textgru.tasks.classification import ClassifierRun
from textgru.training import run_directory
from textgru.training.callbacks import AtomicCheckpoint
from textgru.training.run_folder import file_entries
from textgru.training.run_lock import RunLock, lock_path

from .conftest import FLAGS, one_line_error, reseal

# A module a hostile run folder carries: importing it leaves a mark.
EVIL = """
import pathlib
pathlib.Path({mark!r}).write_text("code from the run folder ran")
"""


@pytest.fixture
def copy(finished, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(finished, path)
    return path


@pytest.fixture
def victim(tmp_path):
    """A file of the user's, outside any run, that must stay as it is."""
    path = tmp_path / "outside" / "precious.txt"
    path.parent.mkdir()
    path.write_text("the user's own file\n")
    return path


def _record_cell(run, cell):
    info = json.loads((run / "config.json").read_text())
    info["config"]["cell"] = cell
    (run / "config.json").write_text(json.dumps(info))
    reseal(run)


def _train(reviews, out, *flags):
    return cli.main(
        ["train", "classify", "--dataset", reviews, "--out", str(out), *FLAGS, *flags]
    )


# --- 1. Loading never runs code the user did not choose ------------------------


def test_a_module_in_the_run_folder_is_not_imported_from_inside_it(copy, tmp_path):
    """The round's case: `python -m textgru.cli predict .` from inside a run
    folder that holds evilcell.py (the current folder is on sys.path)."""
    mark = tmp_path / "ran.txt"
    (copy / "evilcell.py").write_text(EVIL.format(mark=str(mark)))
    _record_cell(copy, "evilcell:Cell")
    result = subprocess.run(
        [sys.executable, "-m", "textgru.cli", "predict", ".", "good"],
        cwd=copy, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = error_lines(result.stderr)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(lines) == 1 and "'evilcell'" in lines[0], result.stderr[-2000:]
    assert "--trust-code" in lines[0] and "import evilcell" in lines[0]
    assert not mark.exists()


def test_in_process_the_refusal_comes_before_any_import(copy, tmp_path, monkeypatch):
    mark = tmp_path / "ran.txt"
    (copy / "evilcell.py").write_text(EVIL.format(mark=str(mark)))
    _record_cell(copy, "evilcell:Cell")
    monkeypatch.syspath_prepend(str(copy))
    for load in (textgru.load, ClassifierRun.load):
        with pytest.raises(UntrustedCodeError, match="trust_code=True") as info:
            load(copy)
        assert "\n" not in str(info.value)
    assert not mark.exists() and "evilcell" not in sys.modules


def test_trust_code_imports_the_module_the_user_trusts(copy, tmp_path, monkeypatch):
    mark = tmp_path / "ran.txt"
    (copy / "evilcell.py").write_text(EVIL.format(mark=str(mark)))
    _record_cell(copy, "evilcell:Cell")
    monkeypatch.syspath_prepend(str(copy))
    monkeypatch.delitem(sys.modules, "evilcell", raising=False)
    with pytest.raises(RunError, match="GRUCell subclass"):  # it has no cell
        textgru.load(copy, trust_code=True)
    assert mark.exists()  # imported, as the user asked


def test_a_standard_module_is_not_imported_either(copy, monkeypatch, capsys):
    """`"cell": "this:X"` printed the Zen of Python before the refusal."""
    monkeypatch.delitem(sys.modules, "this", raising=False)
    _record_cell(copy, "this:X")
    line = one_line_error(capsys, cli.main(["predict", str(copy), "good"]))
    assert "'this'" in line and "--trust-code" in line
    assert "this" not in sys.modules
    assert "Beautiful is better" not in capsys.readouterr().out


def test_an_imported_module_that_holds_no_cell_is_refused(copy, capsys):
    _record_cell(copy, "os:system")  # os is imported; system is no cell class
    line = one_line_error(capsys, cli.main(["evaluate", str(copy)]))
    assert "GRUCell subclass" in line


# --- 2. Network exposure: loopback unless asked --------------------------------


def test_the_coordinator_binds_its_own_address(monkeypatch):
    """JAX's coordinator listens on every interface unless told where;
    textgru tells it the coordinator's own address (the real listening
    sockets of a 2-process run are checked in tests/test_distribute.py)."""
    from textgru.training import distribute

    seen = {}
    monkeypatch.setattr(distribute, "_joined", None)
    monkeypatch.setenv(distribute.BIND_ADDRESS, "restored at the end")
    monkeypatch.delenv(distribute.BIND_ADDRESS)
    monkeypatch.setattr(
        keras.distribution,
        "initialize",
        lambda *cluster: seen.update(bind=os.environ.get(distribute.BIND_ADDRESS)),
    )
    distribute._join("127.0.0.1:4711,127.0.0.1:4712", 2, 0)
    assert seen["bind"] == "127.0.0.1:4711"
    # An address the user set is theirs.
    monkeypatch.setattr(distribute, "_joined", None)
    monkeypatch.setenv(distribute.BIND_ADDRESS, "10.1.2.3:4711")
    distribute._join("10.1.2.3:4711", 2, 0)
    assert seen["bind"] == "10.1.2.3:4711"


# --- 3. Files: never follow a link out -----------------------------------------


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_lock_that_links_to_a_users_file_is_refused(
    reviews, tmp_path, victim, capsys, link
):
    out = tmp_path / "runs" / "x"
    out.parent.mkdir()
    lock = lock_path(out)
    (os.symlink if link == "symlink" else os.link)(victim, lock)
    line = one_line_error(capsys, _train(reviews, out))
    assert str(lock) in line
    assert victim.read_text() == "the user's own file\n"
    assert not out.exists() and not run_directory.workdir_for(out).exists()


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_resume_refuses_a_link_planted_in_the_partial_folder(
    finished, reviews, tmp_path, victim, capsys, link
):
    out = tmp_path / "r"
    work = run_directory.workdir_for(out)
    shutil.copytree(finished, work)
    (work / run_directory.MARKER).touch()
    (work / "history.csv").unlink()
    (os.symlink if link == "symlink" else os.link)(victim, work / "history.csv")
    line = one_line_error(capsys, _train(reviews, out, "--resume"))
    assert "history.csv" in line and "link" in line
    assert victim.read_text() == "the user's own file\n"


@pytest.mark.parametrize("which", ["out", "partial"])
def test_an_out_or_partial_that_is_a_link_is_refused(
    finished, reviews, tmp_path, capsys, which
):
    """`--out` a link to a run, with --overwrite, wrote through it and then
    exited 1; now nothing is written."""
    target = tmp_path / "elsewhere"
    shutil.copytree(finished, target)
    before = file_entries(target)
    out = tmp_path / "r"
    link = out if which == "out" else run_directory.workdir_for(out)
    link.symlink_to(target, target_is_directory=True)
    flags = ["--overwrite"] if which == "out" else ["--resume"]
    line = one_line_error(capsys, _train(reviews, out, *flags))
    assert "symbolic link" in line
    assert file_entries(target) == before


def test_a_checkpoint_that_cannot_be_written_leaves_the_last_good_one(
    tmp_path, monkeypatch
):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "best.weights.h5"
    checkpoint = AtomicCheckpoint(
        str(path), monitor="val_loss", save_best_only=True, save_weights_only=True
    )
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    good = path.read_bytes()

    def full_disk(self, filepath, **kwargs):
        with open(filepath, "wb") as file:
            file.write(b"\x89HDF half a file")
        raise RuntimeError("Can't write data (file write failed)")  # as h5py says

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: types.SimpleNamespace(free=0))
    with pytest.raises(OSError) as info:
        checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert info.value.errno == errno.ENOSPC and "\n" not in str(info.value)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.weights.h5"]


def test_a_full_disk_at_the_checkpoint_is_one_line(
    reviews, tmp_path, monkeypatch, capsys
):
    def full_disk(self, filepath, **kwargs):
        open(filepath, "wb").close()
        raise RuntimeError("Can't write data")

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    out = tmp_path / "r"
    # Exit 1: a failure of the system, not of the command line.
    line = one_line_error(capsys, _train(reviews, out), expected_code=1)
    assert "Could not write the checkpoint of epoch 1" in line
    work = run_directory.workdir_for(out)
    # The epoch is in history.csv, so the run stays to be resumed, with no
    # half-written checkpoint in it.
    assert (work / "history.csv").exists() and not (work / "best.weights.h5").exists()
    assert not [p.name for p in work.iterdir() if p.name.startswith(".best")]


# --- 4. The manifest cannot be switched off ------------------------------------


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(files={}), "does not list model.keras"),
        (lambda m: m["files"].pop("tokenizer.json"), "does not list tokenizer.json"),
        (lambda m: m.pop("tokenizer"), "tokenizer's fingerprint"),
        (lambda m: m["tokenizer"].pop("fingerprint"), "tokenizer's fingerprint"),
        (lambda m: m.update(files=[]), "no `files` table"),
        (lambda m: m["files"].update({"model.keras": "abc"}), "'model.keras'"),
        (lambda m: m["files"]["metrics.json"].update(bytes="12"), "'metrics.json'"),
        (lambda m: m["files"].update({"../x": {"sha256": "", "bytes": 0}}), "'../x'"),
        (lambda m: m.clear(), "no `files` table"),
    ],
)
def test_a_cut_down_or_misshapen_manifest_is_refused(copy, capsys, edit, message):
    path = copy / run_directory.MANIFEST
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(RunIntegrityError, match=message):
        ClassifierRun.load(copy)
    assert message in one_line_error(capsys, cli.main(["predict", str(copy), "good"]))


def test_a_swapped_tokenizer_with_an_emptied_manifest_is_refused(copy, finished):
    """The round's case: the manifest emptied, then the tokenizer swapped."""
    from textgru.data import train_tokenizer

    size = ClassifierRun.load(finished).tokenizer.vocab_size
    other = train_tokenizer([f"w{i} x{i}" for i in range(size)], kind="word")
    other.save(copy / "tokenizer.json")
    (copy / run_directory.MANIFEST).write_text('{"files": {}}')
    with pytest.raises(RunIntegrityError, match="does not list"):
        ClassifierRun.load(copy)


@pytest.mark.parametrize("name", ["metrics.json", "config.json", "history.csv"])
def test_an_oversized_run_file_is_refused_without_reading_it_whole(copy, name):
    path = copy / name
    limit = run_directory.SIZE_LIMITS[name]
    with open(path, "ab") as file:
        file.truncate(limit + 1)  # sparse: large but cheap
    if name != "history.csv":
        reseal(copy)
        with pytest.raises(RunIntegrityError, match=f"{name} is larger than"):
            ClassifierRun.load(copy)
    else:
        with pytest.raises(RunIntegrityError, match="larger than"):
            run_directory.read_history(path)


# --- 5. The XLA cache is the user's own and self-healing -----------------------


@pytest.fixture
def no_tf(monkeypatch):
    for name in (_xla_cache.SETTING, "TEXTGRU_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    return monkeypatch


def test_the_cache_folder_is_made_private(no_tf, tmp_path):
    folder = _xla_cache.configure(tmp_path)
    assert folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("whose", ["another user's", "writable by others"])
def test_a_cache_folder_not_the_users_own_is_not_used(no_tf, tmp_path, capsys, whose):
    folder = tmp_path / "cache"
    folder.mkdir()
    if whose == "another user's":
        if os.getuid() != 0:
            pytest.skip("giving a folder to another user needs root (CI is root)")
        os.chown(folder, 12345, 12345)
    else:
        folder.chmod(0o777)
    no_tf.setenv(_xla_cache.SETTING, str(folder))
    assert _xla_cache.configure(tmp_path) is None
    assert os.environ["TF_XLA_FLAGS"] == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"it is {whose}" in err


def test_damaged_cache_entries_are_dropped_and_compiled_again(tmp_path):
    """Two real entries, swapped (TensorFlow: "Serialized cache key does not
    match"), are dropped with one status line, and the command computes what
    it computed before; a cut-short entry and one changed after it was
    indexed are dropped too."""
    folder = tmp_path / "cache"
    body = """
        for t in (5, 7):
            c = keras.initializers.Constant(0.1)
            layer = textgru.GRU(4, kernel_initializer=c, recurrent_initializer=c)
            x = np.linspace(0, 1, 2 * t * 3).reshape(2, t, 3).astype("float32")
            print(float(tf.function(layer)(x).numpy().sum()))
    """
    first = run_cached(folder, body)
    entries = sorted(folder.glob("*.pb"))[:2]
    assert len(entries) == 2 and (folder / _xla_cache.INDEX).exists()
    a, b = (path.read_bytes() for path in entries)
    entries[0].write_bytes(b)
    entries[1].write_bytes(a)
    second = run_cached(folder, body)
    assert second.stdout == first.stdout
    assert second.stderr.strip().splitlines() == [
        f"textgru: dropped 2 damaged entries of the XLA cache {folder}; compiling again"
    ]
    # Cut short, and changed in place (still whole, but not what was written).
    whole = entries[0].read_bytes()
    entries[0].write_bytes(whole[: len(whole) // 2])
    assert _xla_cache.heal(folder) == 1 and not entries[0].exists()
    data = bytearray(entries[1].read_bytes())
    data[-1] ^= 0xFF
    entries[1].write_bytes(bytes(data))
    assert _xla_cache.heal(folder) == 1 and not entries[1].exists()


# --- 6. The low ones -----------------------------------------------------------


def test_a_seed_too_large_for_keras_is_one_line(tmp_path, capsys):
    out = tmp_path / "r"
    line = one_line_error(capsys, cli.main(["train", "classify", "--out", str(out),
                                            "--seed", "8589934592"]))  # fmt: skip
    assert "--seed to be an integer from 0 to 4294967295" in line
    assert not run_directory.workdir_for(out).exists()


def test_text_on_stdin_that_is_not_utf8_is_one_line(finished, monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(b"a good film\n\xff\xfe bad bytes\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    line = one_line_error(capsys, cli.main(["predict", str(finished)]))
    assert "not UTF-8 (line 2" in line


@keras.saving.register_keras_serializable(package="textgru_hostile")
class WideStateCell(GRUCell):
    """Returns a state twice as wide as its units."""

    def gate_values(self, inputs, h_tm1, weights, training=False):
        values = super().gate_values(inputs, h_tm1, weights, training)
        state = keras.ops.concatenate([values.state, values.state], axis=-1)
        return values._replace(state=state)


@keras.saving.register_keras_serializable(package="textgru_hostile")
class RenamedWeightsCell(GRUCell):
    """Its step_weights use other names than its gate_values looks up."""

    def step_weights(self):
        return {f"my_{name}": value for name, value in super().step_weights().items()}


@keras.saving.register_keras_serializable(package="textgru_hostile")
class TupleCell(GRUCell):
    """Returns a plain tuple, not a GateValues."""

    def gate_values(self, inputs, h_tm1, weights, training=False):
        return tuple(super().gate_values(inputs, h_tm1, weights, training))


@pytest.mark.parametrize(
    "cell, message",
    [
        (WideStateCell, "state of width 8"),
        (RenamedWeightsCell, "looked up the weight"),
        (TupleCell, "Received: a tuple"),
    ],
)
@pytest.mark.parametrize("compiled", [False, True])
def test_a_cell_that_breaks_the_contract_is_one_line(cell, message, compiled):
    layer = textgru.GRU(cell=cell(4), fast_path=False)
    x = np.ones((2, 3, 5), "float32")
    call = keras.Sequential([keras.Input((3, 5)), layer]).predict if compiled else layer
    with pytest.raises(InvalidArgumentError, match=message) as info:
        call(x)
    # Keras wraps the call's context around it; the message itself is one line.
    line = message_of(info.value)
    assert line.startswith(("Expected", cell.__name__)) and "\n" not in line
    assert cell.__name__ in line


def test_a_cell_whose_get_config_leaves_out_an_argument_is_refused():
    @keras.saving.register_keras_serializable(package="textgru_hostile")
    class ScaledCell(GRUCell):
        def __init__(self, units, scale=1.0, **kwargs):
            super().__init__(units, **kwargs)
            self.scale = scale

    with pytest.raises(InvalidArgumentError, match="leaves out scale"):
        textgru.GRU(cell=ScaledCell(4, scale=3.0))


def test_an_unregistered_cell_is_refused_before_it_is_saved():
    class Unregistered(GRUCell):
        pass

    with pytest.raises(InvalidArgumentError, match="Register Unregistered"):
        textgru.GRU(cell=Unregistered(4))


def test_a_read_only_file_system_is_exit_2_with_a_hint(
    reviews, tmp_path, monkeypatch, capsys
):
    def read_only(self):
        raise OSError(errno.EROFS, "Read-only file system", str(self.path))

    monkeypatch.setattr(RunLock, "acquire", read_only)
    line = one_line_error(capsys, _train(reviews, tmp_path / "r"))
    assert "Read-only file system" in line and "writable" in line


def test_a_read_only_data_cache_is_read_around(reviews, monkeypatch, capsys):
    import datasets

    from textgru.data import load_dataset

    real, caches = datasets.load_dataset, []

    def locked(*args, cache_dir=None, **kwargs):
        caches.append(cache_dir)
        if len(caches) == 1:  # the shared cache: its lock cannot be taken
            raise PermissionError(errno.EACCES, "Permission denied", cache_dir)
        return real(*args, cache_dir=cache_dir, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", locked)
    data = load_dataset(reviews)
    assert sum(len(split) for split in data.values()) == 320
    assert len(caches) == 2 and caches[0] != caches[1]
    assert "cannot write to the data cache" in capsys.readouterr().err


def test_duplicate_csv_column_names_are_one_line(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("text,label,text\na good film,pos,x\na bad film,neg,y\n")
    with pytest.raises(DatasetError, match="'text' more than once"):
        textgru.data.load_dataset(str(data))
    out = tmp_path / "r"
    line = one_line_error(capsys, _train(str(data), out))
    assert "more than once" in line and not out.exists()


def test_a_folder_as_dataset_says_it_is_a_folder(tmp_path, capsys):
    folder = tmp_path / "texts"
    folder.mkdir()
    line = one_line_error(capsys, _train(str(folder), tmp_path / "r"))
    assert "is a folder" in line and "*.csv" in line


def test_a_missing_tokenizer_file_says_so(reviews, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "tokenizer.json"
    line = one_line_error(capsys, _train(reviews, tmp_path / "r", "--tokenizer",
                                         str(missing)))  # fmt: skip
    assert f"No tokenizer file at {missing}" in line


def test_a_non_numeric_epoch_in_history_is_one_line_on_resume(
    finished, reviews, tmp_path, capsys
):
    out = tmp_path / "r"
    work = run_directory.workdir_for(out)
    shutil.copytree(finished, work)
    (work / run_directory.MARKER).touch()
    info = json.loads((work / "config.json").read_text())
    info["config"]["out"] = str(out)  # as if it had been trained there
    (work / "config.json").write_text(json.dumps(info))
    history = (work / "history.csv").read_text().splitlines()
    history[1] = "x" + history[1][1:]
    (work / "history.csv").write_text("\n".join(history) + "\n")
    line = one_line_error(capsys, _train(reviews, out, "--resume"))
    assert "history.csv is damaged: line 2 has epoch 'x'" in line


def test_evaluating_a_partial_folder_that_does_not_exist(tmp_path, capsys):
    missing = tmp_path / "nothing.partial"
    line = one_line_error(capsys, cli.main(["evaluate", str(missing)]))
    assert f"No run directory at {missing}" in line


def test_a_model_naming_a_class_keras_cannot_find_is_one_line(copy, capsys):
    """An unregistered cell saved by an older textgru failed at load with
    Keras's long TypeError."""
    import zipfile

    path = copy / "model.keras"
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    config = parts["config.json"].decode()
    assert '"textgru>GRUBackbone"' in config
    parts["config.json"] = config.replace(
        '"textgru>GRUBackbone"', '"nowhere>Backbone"'
    ).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    reseal(copy)
    with pytest.raises(RunError, match="model.keras cannot be loaded") as info:
        ClassifierRun.load(copy)
    assert "\n" not in str(info.value)
    assert "cannot be loaded" in one_line_error(
        capsys, cli.main(["evaluate", str(copy)])
    )
