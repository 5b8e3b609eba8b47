"""A run directory is textgru's and only textgru's: --overwrite replaces only
a run or an empty folder, one run at a time holds --out (a lock, taken over
when its holder died), errors before training leave nothing, places that
cannot hold a run are refused, and killed saves leave no litter."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import pytest

from tests.cli_output import ENTRY
from textgru import cli
from textgru.tasks import CLASSIFY
from textgru.tasks.classification import ClassifierRun
from textgru.training import run_directory
from textgru.training.run_folder import RunFolder
from textgru.training.run_lock import RunLock, lock_path

from .conftest import FLAGS, one_line_error


def _train(reviews, out, *extra):
    return cli.main(
        ["train", "classify", "--dataset", reviews, "--out", str(out)]
        + [*FLAGS, *extra]
    )


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(reviews, tmp_path, capsys):
    mine = tmp_path / "mydata"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep")
    (mine / "reviews.csv").write_text(open(reviews).read())
    code = _train(str(mine / "reviews.csv"), mine, "--overwrite")
    line = one_line_error(capsys, code)
    assert "replaces only a textgru run or an empty folder" in line
    assert (mine / "precious.txt").read_text() == "keep"
    assert sorted(p.name for p in mine.iterdir()) == ["precious.txt", "reviews.csv"]
    assert not (tmp_path / "mydata.partial").exists()


def test_overwrite_replaces_a_run_or_an_empty_folder(reviews, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _train(reviews, empty, "--overwrite") == 0
    assert run_directory.is_run(empty)
    assert _train(reviews, empty, "--overwrite") == 0  # a run: replaced
    not_ours = tmp_path / "r.partial"
    not_ours.mkdir()
    (not_ours / "notes.txt").write_text("mine")
    line = one_line_error(capsys, _train(reviews, tmp_path / "r", "--overwrite"))
    assert "r.partial" in line and (not_ours / "notes.txt").exists()


@pytest.mark.parametrize(
    "out, message",
    [
        ("", "Expected --out to name a folder"),
        (".", "current folder or a folder above it"),
        ("{tmp}", "current folder or a folder above it"),
        ("{tmp}/file.txt", "is a file, not a run folder"),
        ("{tmp}/file.txt/run", "which is a file"),
    ],
)
def test_places_that_cannot_hold_a_run(
    reviews, tmp_path, monkeypatch, capsys, out, message
):
    (tmp_path / "file.txt").write_text("a file of mine")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code = _train(reviews, out.format(tmp=tmp_path), "--overwrite")
    assert message in one_line_error(capsys, code)
    assert (tmp_path / "file.txt").read_text() == "a file of mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "work"]


def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(
    reviews, tmp_path, capsys
):
    """The first run is another process (its lock is the kernel's, dropped
    when it is killed); the others run here."""
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "train", "classify", "--dataset", reviews,
         "--out", str(out), *FLAGS, "--epochs", "100000", "--patience", "100000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while not (tmp_path / "run.partial" / "history.csv").exists():
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.2)
        for flags in ([], ["--overwrite"], ["--resume"]):
            code = _train(reviews, out, *flags)
            error = one_line_error(capsys, code)
            assert "A run is in progress at" in error and f"pid {first.pid}" in error
            assert "--overwrite" not in error
        assert first.poll() is None  # the live run was not disturbed
    finally:
        first.kill()
        first.wait()
    # The killed run's lock is stale: a resume takes it over and finishes
    # (with --epochs 1 it trains no more: the backup holds later epochs).
    code = _train(reviews, out, "--patience", "100000", "--epochs", "1", "--resume")
    assert code == 0, capsys.readouterr().err[-2000:]
    assert ClassifierRun.load(out).predict(["good"])
    assert not lock_path(out).exists()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from textgru.training.run_lock import RunLock
            RunLock({str(out)!r}).acquire()
            print("locked", flush=True)
            time.sleep(300)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(run_directory.RunError, match=f"pid {holder.pid}"):
        RunLock(out).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = RunLock(out).acquire()
    assert f"pid {os.getpid()}" in lock_path(out).read_text()
    lock.release()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--tokenizer", "byte"], "vocab"),
        (["--label-column", "text"], "the validation split is empty"),
        (["--dataset", "{one_class}"], "has one class only"),
    ],
)
def test_errors_before_training_leave_no_partial_run(
    reviews, tmp_path, capsys, flags, message
):
    one_class = tmp_path / "one.csv"
    rows = "\n".join(f"text number {i},pos" for i in range(40))
    one_class.write_text(f"text,label\n{rows}\n")
    out = tmp_path / "run"
    code = _train(reviews, out, *(f.format(one_class=one_class) for f in flags))
    assert message in one_line_error(capsys, code)
    assert not run_directory.workdir_for(out).exists() and not out.exists()
    assert not lock_path(out).exists()
    # The next attempt is a new run, not "interrupted, pass --resume".
    assert _train(reviews, out) == 0


def test_litter_of_a_killed_save_never_reaches_a_finished_run(tmp_path):
    folder = RunFolder(tmp_path / "run").open()
    work = folder.work
    for name in CLASSIFY.files:
        (work / name).write_text(name)
    (work / ".model.keras.tmp-abc123").write_text("half a model")
    (work / ".config.json.tmp-xyz").mkdir()
    model = SimpleNamespace(backbone=SimpleNamespace(vocab_size=5))
    tokenizer = SimpleNamespace(vocab_size=5, fingerprint="f")
    out = folder.finish(CLASSIFY.files, model, tokenizer)
    folder.lock.release()
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*CLASSIFY.files, run_directory.MANIFEST])


def test_a_run_folder_cleans_up_only_what_it_opened(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    # Opened, failed before an epoch: nothing left, the lock released.
    with pytest.raises(KeyboardInterrupt), RunFolder(out) as folder:
        folder.open()
        assert folder.work.is_dir() and lock_path(out).exists()
        raise KeyboardInterrupt
    assert not folder.work.exists() and not lock_path(out).exists()
    # Another process's folder (never opened here, as on a distributed run's
    # other processes) is left alone, even when it is new.
    RunFolder(out).open().lock.release()
    with pytest.raises(RuntimeError), RunFolder(out, overwrite=True) as other:
        other.resumed = False
        raise RuntimeError("a worker failed")
    assert other.work.is_dir()
    # A resumed run keeps its folder whatever happens.
    with pytest.raises(RuntimeError), RunFolder(out, resume=True) as resumed:
        assert resumed.open().resumed
        raise RuntimeError("failed again")
    assert resumed.work.is_dir() and not lock_path(out).exists()


def test_an_interrupted_run_is_refused_before_anything_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    RunFolder(tmp_path / "run").open().lock.release()
    with pytest.raises(run_directory.RunError, match="pass --resume to continue"):
        RunFolder(tmp_path / "run").check()


def test_an_unfinished_run_is_not_used_without_asking(finished, tmp_path, capsys):
    import shutil

    partial = tmp_path / "run.partial"
    shutil.copytree(finished, partial)
    line = one_line_error(capsys, cli.main(["predict", str(partial), "good"]))
    assert "is an unfinished run" in line and "--allow-partial" in line
    assert cli.main(["predict", str(partial), "good", "--allow-partial"]) == 0


def test_a_run_records_absolute_dataset_paths(reviews, tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.dirname(reviews))
    out = tmp_path / "run"
    assert _train(os.path.basename(reviews), out) == 0
    recorded = json.loads((out / "config.json").read_text())["config"]["dataset"]
    assert recorded == reviews
    monkeypatch.chdir(tmp_path)  # another folder: evaluate still finds the data
    assert ClassifierRun.load(out).evaluate()["num_examples"] > 0


def test_cache_and_run_folders_are_readable_by_others(finished, builtin_home):
    from textgru.data import load_dataset
    from textgru.data.builtin import cache_path

    load_dataset("sms_spam")
    assert cache_path("sms_spam").stat().st_mode & 0o055 == 0o055
    assert finished.stat().st_mode & 0o055 == 0o055
