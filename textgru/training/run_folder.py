"""The folder one training run writes, from the check of its `--out` to the
rename that finishes it.

A run trains in `<out>.partial/` and becomes `<out>` in one rename, once
every file is written and listed with its checksum in the run's manifest:
a run that stops before that never looks finished, and `--resume` continues
it. While it trains, the run holds the lock on `<out>.lock` (`RunLock`), so
a second run on the same `--out` is refused. `--overwrite` replaces only a
textgru run or an empty folder, and nothing is written through a link.
Reading a finished run back is `textgru.training.run_directory`'s.
"""

import csv
import json
import shutil
from pathlib import Path

import keras

from textgru import _manifest
from textgru._atomic import atomic_path, write_text
from textgru._version import __version__
from textgru.data import Tokenizer
from textgru.errors import RunError
from textgru.training.run_directory import (
    DISTRIBUTED_MODEL,
    KIND,
    MARKER,
    RUN_FORMAT,
    is_run,
    read_history,
    read_small,
    tokenizer_facts,
    workdir_for,
)
from textgru.training.run_lock import RunLock, lock_path

# Working files that do not belong in a finished run.
_SCRATCH = ("backup", "best.weights.h5", DISTRIBUTED_MODEL, MARKER)


class RunFolder:
    """The run folder of one training call, for `out` (`config.out`).

    Use it around the whole call, so that the lock is released however the
    call ends, and a new folder that failed before its first epoch is
    removed (there is nothing in it to resume):

        with RunFolder.of(config) as folder:
            folder.check()                  # before loading anything
            folder.open()                   # the lock; <out>.partial made
            folder.record("classify", config, info, finished=False)
            ...                             # train in folder.work
            folder.finish(task.files, model, tokenizer)

    Attributes:
        out: the finished run's folder.
        work: `<out>.partial`, where the run trains.
        resumed: after `open`, whether the run continues an interrupted one.
    """

    def __init__(self, out, *, resume=False, overwrite=False):
        if not str(out).strip():
            raise RunError("Expected --out to name a folder for the run. Received: ''")
        self.out = Path(out)
        if not self.out.name:  # "." or "/": no working folder can sit beside it
            _refuse_here(out)
        self.work = workdir_for(out)
        self.resume, self.overwrite = resume, overwrite
        self.lock = RunLock(out)
        self.resumed = None
        self._out_checked = self._made = False

    @classmethod
    def of(cls, config):
        """The run folder a `TrainConfig` names (`out`, `resume`, `overwrite`)."""
        return cls(config.out, resume=config.resume, overwrite=config.overwrite)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        try:
            if kind is not None:
                self._abandon()
        finally:
            self.lock.release()
        return False

    # --- starting -------------------------------------------------------------

    def check(self):
        """Refuse, before anything is loaded or written, a run that `open`
        would refuse, or one whose `--out` another run holds."""
        self._check_out()
        self.lock.check_free()
        self._check_folders()

    def open(self):
        """Take the lock and make `<out>.partial` (or, resuming, find it, and
        refuse it if it holds a link). Returns the folder."""
        if not self._out_checked:
            self._check_out()
        self.lock.acquire()
        self._check_folders()  # again, now that this run holds `--out`
        if self.resume:
            check_no_links(self.work)
        else:
            if self.work.exists():  # an interrupted run, and --overwrite
                shutil.rmtree(self.work)
            self.work.mkdir(parents=True)
            self._made = True  # by this process: removed again if the run fails
            (self.work / MARKER).touch()
        self.resumed = self.resume
        return self

    def _check_out(self):
        """Refuse an `--out` that cannot hold a run: empty, the current folder
        or one above it, a link, a file, or a place under a file."""
        out = self.out
        resolved = out.expanduser().resolve()
        here = Path.cwd().resolve()
        if resolved == here or resolved in here.parents:
            _refuse_here(out)
        for path in (out, self.work, lock_path(out)):
            if path.is_symlink():
                raise RunError(
                    f"{path} is a symbolic link, and textgru never writes a run "
                    "through one; remove the link, or give the real folder as --out"
                )
        if resolved.exists() and not resolved.is_dir():
            raise RunError(
                f"--out {out} is a file, not a run folder; choose another --out "
                "(--overwrite never replaces a file)"
            )
        for parent in resolved.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise RunError(f"--out {out} is under {parent}, which is a file")
                break
        self._out_checked = True

    def _check_folders(self):
        out, work = self.out, self.work
        if self.resume:
            if not work.is_dir():
                raise RunError(
                    f"Nothing to resume at {out}: no interrupted run ({work} does "
                    "not exist); drop --resume to start a new run"
                )
            return
        if out.exists() and not self.overwrite:
            raise RunError(
                f"{out} already exists; pass --overwrite to replace it, "
                "or choose another --out"
            )
        if out.exists() and not _replaceable(out):
            _refuse_replacing(out)
        if work.exists() and not self.overwrite:
            raise RunError(
                f"An interrupted run is at {work}; pass --resume to continue it "
                "or --overwrite to start over"
            )
        if work.exists() and (not work.is_dir() or not _replaceable(work)):
            _refuse_replacing(work)

    def _abandon(self):
        """A new run that failed before finishing an epoch leaves nothing: its
        folder would only say "interrupted, pass --resume" to the next try.
        Only the process that made the folder removes it (of a distributed
        run, the chief); a resumed one is never removed."""
        if not self._made or not self.work.is_dir():
            return
        try:
            trained = bool(read_history(self.work / "history.csv"))
        except (OSError, RunError):
            return  # keep what is there
        if not trained:
            shutil.rmtree(self.work, ignore_errors=True)

    # --- recording ------------------------------------------------------------

    def record(self, task, config, info, *, finished):
        """Write config.json: the task's word, the format and versions, the
        task's facts `info` and the settings `config` (a `TrainConfig`)."""
        self.write_json(
            "config.json",
            {
                "task": task,
                "run_format": RUN_FORMAT,
                "textgru_version": __version__,
                "keras_version": keras.__version__,
                "backend": keras.backend.backend(),
                **info,
                "config": config.recorded(),
                "finished": finished,
            },
        )

    def check_settings(self, config):
        """Refuse to resume with settings other than the interrupted run's."""
        try:
            saved = json.loads(read_small(self.work / "config.json"))["config"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RunError(
                f"The interrupted run at {self.work} has no readable config.json; "
                "start over with --overwrite"
            ) from None
        changed = config.changed_since(saved)
        if changed:
            raise RunError(
                f"The interrupted run at {self.work} was started with other "
                f"settings: {', '.join(changed)}; resume with the same flags"
            )

    def save_tokenizer(self, tokenizer):
        tokenizer.save(self.work / "tokenizer.json")

    def load_tokenizer(self):
        """The tokenizer the interrupted run saved."""
        return Tokenizer.load(self.work / "tokenizer.json")

    def keep_epochs(self, count):
        """Drop the rows of epochs `count` and later from history.csv (a run
        resumes after the epochs its backup holds)."""
        path = self.work / "history.csv"
        rows = read_history(path)
        kept = [row for row in rows if int(row["epoch"]) < count]
        if len(kept) == len(rows):
            return
        with (
            atomic_path(path) as tmp,
            open(tmp, "w", newline="", encoding="utf-8") as file,
        ):
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(kept)

    def save_model(self, model):
        """Save `model` alone as model.keras: a copy made from its config with
        its weights, so the file holds no optimizer state (about two thirds
        of the file for AdamW; a run in progress keeps that in its backup)."""
        copy = type(model).from_config(model.get_config())
        copy.set_weights(model.get_weights())
        with atomic_path(self.work / "model.keras", suffix=".keras") as tmp:
            copy.save(tmp)

    def write_json(self, name, value):
        write_text(self.work / name, json.dumps(value, indent=2) + "\n")

    def write_text(self, name, text):
        write_text(self.work / name, text)

    # --- finishing ------------------------------------------------------------

    def finish(self, files, model, tokenizer):
        """Check the run holds all its `files`, drop the working files, record
        the manifest (each file's sha256 and size, and what ties `tokenizer`
        to `model`), then move it to `out` in one rename. Returns `out`."""
        work, out = self.work, self.out
        check_no_links(work)
        missing = [name for name in files if not (work / name).exists()]
        if missing:
            raise RunError(
                f"Run in {work} is missing {', '.join(missing)}; not finishing it"
            )
        for name in _SCRATCH:
            _remove(work / name)
        for path in work.glob(".*.tmp-*"):  # of a save that was killed
            _remove(path)
        _manifest.write(work, KIND, **tokenizer_facts(model, tokenizer))
        if out.exists():
            if not _replaceable(out):
                _refuse_replacing(out)
            old = out.with_name(f".{out.name}.replaced")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            work.rename(out)
            shutil.rmtree(old)
        else:
            work.rename(out)
        return out


def check_no_links(folder):
    """Refuse a run folder that holds a symbolic link, or a file with another
    name elsewhere (a hard link): writing to it (appending to history.csv,
    saving a checkpoint) would change a file outside the run."""
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or (path.is_file() and path.stat().st_nlink > 1):
            kind = "a symbolic link" if path.is_symlink() else "a hard link"
            raise RunError(
                f"{path} is {kind}, and textgru writes only the run's own files; "
                "remove it, then --resume again"
            )


def _refuse_here(out):
    raise RunError(
        f"--out {out} is the current folder or a folder above it; name a new "
        "folder for the run, such as runs/mine"
    )


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _replaceable(path):
    return is_run(path) or (path.is_dir() and not any(path.iterdir()))


def _refuse_replacing(path):
    entries = sorted(p.name for p in path.iterdir())
    raise RunError(
        f"--overwrite replaces only a textgru run or an empty folder, and {path} is "
        f"neither (it holds {', '.join(entries[:3])}"
        f"{', ...' if len(entries) > 3 else ''}); choose another --out"
    )


def file_entries(folder):
    """The manifest's `files` table of the run folder `folder`."""
    return _manifest.entries(folder, KIND)
