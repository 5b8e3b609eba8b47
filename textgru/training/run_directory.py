"""Run directories: what a training run leaves behind, written so that an
interrupted run never looks complete, and read back for evaluation and
prediction.

A run trains in `<out>.partial/` and is renamed to `<out>` only once every
file is written, with a manifest of their checksums that loading checks.
`--resume` continues in `<out>.partial/`. While a run trains, it holds an
advisory lock on `<out>.lock`, so a second run on the same `--out` is
refused. `--overwrite` replaces only a textgru run or an empty folder.
"""

import csv
import errno
import fcntl
import functools
import io
import json
import os
import shutil
import socket
import stat
import time
from pathlib import Path

import keras

from textgru._atomic import atomic_path, write_text
from textgru._version import __version__
from textgru.data import Tokenizer
from textgru.data.fetch import sha256_of
from textgru.errors import (
    RunError,
    RunIntegrityError,
    TextgruError,
    UntrustedCodeError,
)
from textgru.layers.cell_path import recorded_cell

# Bump when the files or their meaning change; formats not in
# READABLE_FORMATS are refused. 2 added manifest.json; 3 saves the model as
# a task model over a `GRUBackbone` (older flat models are rebuilt on load).
RUN_FORMAT = 3
READABLE_FORMATS = (2, 3)
# Formats textgru has written: a folder of one of these is a run (that
# --overwrite may replace), readable or not. Format 1 had no manifest, so
# nothing of it can be checked: it is refused.
RUN_FORMATS = (1, 2, 3)
MANIFEST = "manifest.json"
# The most bytes textgru reads of a run's small files: each is far smaller
# in any run it writes, so a larger one is not the run's own (and is never
# read whole).
SIZE_LIMITS = {
    "config.json": 1 << 20,
    MANIFEST: 1 << 20,
    "metrics.json": 16 << 20,
    "history.csv": 16 << 20,
}
# In a working folder: textgru made it (so --overwrite may delete it).
MARKER = ".textgru-run"
# What loading a run needs; the reports after it are written by every run
# but not needed to use it (runs made before a report existed still load).
NEEDED = ("model.keras", "tokenizer.json", "config.json", "metrics.json")
# Every run writes these too; each task adds its own (`Task.report_files`).
REPORTS = ("history.csv", "training_curves.png")
# The model of a distributed run, saved to be reloaded on one device.
DISTRIBUTED_MODEL = "distributed.keras"
# Working files that do not belong in a finished run.
_SCRATCH = ("backup", "best.weights.h5", DISTRIBUTED_MODEL, MARKER)


# Each task's run class by its word ("classify", "lm"): `load_run` reads
# any run with the class its config.json names (the tasks register theirs).
RUN_CLASSES = {}


def load_run(path, allow_partial=False, trust_code=False):
    """The run at `path`, read by its task's run class (a `ClassifierRun`,
    `LanguageModelRun`, ...): `textgru.load(path).predict(["a text"])` gives
    each text's label and probabilities, `.generate("ROMEO:")` a continuation.

    A run's `model.keras` holds the network alone; it takes token ids, so
    texts go in through the run (`run.predict`, `run.predict_proba`: the
    tokenizer and `run.preprocessor` are part of the run). To load the bare
    model with `keras.saving.load_model`, `import textgru` first: Keras finds
    the classes of a library only once it is imported.

    With `allow_partial`, an unfinished `<out>.partial` folder is read too,
    unchecked. `trust_code=True` lets a run made with your own cell import
    the cell's module (see `TaskRun.load`)."""
    task = read_config(path, allow_partial=allow_partial).get("task")
    if task not in RUN_CLASSES:
        raise RunError(f"{path} is a {task!r} run, which this textgru cannot read")
    return RUN_CLASSES[task].load(
        path, allow_partial=allow_partial, trust_code=trust_code
    )


def workdir_for(out):
    out = Path(out)
    return out.with_name(out.name + ".partial")


def lock_path(out):
    out = Path(out)
    return out.with_name(out.name + ".lock")


def check_out(out):
    """Refuse an `--out` that cannot hold a run: empty, the current folder or
    one above it, a file, or a place under a file."""
    if not str(out).strip():
        raise RunError("Expected --out to name a folder for the run. Received: ''")
    resolved = Path(out).expanduser().resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents or not Path(out).name:
        raise RunError(
            f"--out {out} is the current folder or a folder above it; name a new "
            "folder for the run, such as runs/mine"
        )
    for path in (Path(out), workdir_for(out), lock_path(out)):
        if path.is_symlink():
            raise RunError(
                f"{path} is a symbolic link, and textgru never writes a run through "
                "one; remove the link, or give the real folder as --out"
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


def is_run(path):
    """Whether `path` is a folder that textgru wrote as a run (finished or
    not): its config.json is a textgru run's, or it carries textgru's marker."""
    path = Path(path)
    if not path.is_dir():
        return False
    if (path / MARKER).exists():
        return True
    try:
        info = json.loads(read_small(path / "config.json"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("run_format") in RUN_FORMATS


def _replaceable(path):
    return is_run(path) or (path.is_dir() and not any(path.iterdir()))


def _refuse_replacing(path):
    entries = sorted(p.name for p in path.iterdir())
    raise RunError(
        f"--overwrite replaces only a textgru run or an empty folder, and {path} is "
        f"neither (it holds {', '.join(entries[:3])}"
        f"{', ...' if len(entries) > 3 else ''}); choose another --out"
    )


def check_start(out, *, resume=False, overwrite=False):
    """Refuse, before anything is loaded or written, a run that `start` would
    refuse, or one whose `--out` another run holds."""
    check_out(out)
    RunLock(out).check_free()
    _check_folders(out, resume, overwrite)


def _check_folders(out, resume, overwrite):
    out = Path(out)
    work = workdir_for(out)
    if resume:
        if not work.is_dir():
            raise RunError(
                f"Nothing to resume at {out}: no interrupted run ({work} does not "
                "exist); drop --resume to start a new run"
            )
        return
    if out.exists() and not overwrite:
        raise RunError(
            f"{out} already exists; pass --overwrite to replace it, "
            "or choose another --out"
        )
    if out.exists() and not _replaceable(out):
        _refuse_replacing(out)
    if work.exists() and overwrite and (not work.is_dir() or not _replaceable(work)):
        _refuse_replacing(work)


def start(out, *, resume=False, overwrite=False):
    """Create (or, with `resume`, find) the working folder of a run at `out`.

    Returns `(workdir, resumed)`.
    """
    check_out(out)
    _check_folders(out, resume, overwrite)
    out = Path(out)
    work = workdir_for(out)
    if resume:
        check_no_links(work)
        return work, True
    if work.exists():
        if not overwrite:
            raise RunError(
                f"An interrupted run is at {work}; pass --resume to continue it "
                "or --overwrite to start over"
            )
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / MARKER).touch()
    return work, False


class RunLock:
    """An advisory lock (`flock`) on `<out>.lock` for the life of a training
    run. The kernel drops it when the process dies, so a lock left by a
    killed run is simply taken over; the file names its holder."""

    def __init__(self, out):
        self.out = Path(out)
        self.path = lock_path(out)
        self.fd = None

    def check_free(self):
        """Raises the "in progress" error if another run holds the lock."""
        if os.path.lexists(self.path):
            self.acquire().release()

    def _open(self):
        """The lock file, opened without following a link: a link, or a file
        with other names (a hard link to a file of someone's), is refused
        before anything is written to it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise RunError(
                f"{self.path} is a symbolic link, and textgru never writes a run's "
                "lock through one; remove it"
            ) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise RunError(
                f"{self.path} is not a lock file textgru made (it is a hard link or "
                "not a plain file); remove it"
            )
        return fd

    def acquire(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 500).decode("utf-8", "replace").strip()
                os.close(fd)
                raise RunError(
                    f"A run is in progress at {self.out} ({holder or 'holder unknown'}"
                    "); wait for it to finish, or choose another --out"
                ) from None
            # The holder before us may have removed the file as we opened it.
            if os.path.exists(self.path) and os.stat(self.path).st_ino == (
                os.fstat(fd).st_ino
            ):
                os.ftruncate(fd, 0)
                started = time.strftime("%Y-%m-%d %H:%M:%S")
                holder = f"pid {os.getpid()} on {socket.gethostname()}, since {started}"
                os.write(fd, holder.encode("utf-8"))
                self.fd = fd
                return self
            os.close(fd)
        raise RunError(f"Could not lock {self.path}; try again")

    def release(self):
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class _ActiveRun:
    """A run folder opened by the training call in progress."""

    def __init__(self, work, lock, fresh):
        self.work, self.lock, self.fresh = Path(work), lock, fresh

    def abandon(self):
        """A fresh run that failed before finishing an epoch leaves nothing:
        there is nothing to resume, and its folder would only say
        "interrupted, pass --resume" to the next attempt."""
        if not (self.fresh and self.work.is_dir()):
            return
        try:
            trained = bool(read_history(self.work / "history.csv"))
        except (OSError, RunError):
            return  # keep what is there
        if not trained:
            shutil.rmtree(self.work, ignore_errors=True)


_ACTIVE = []


def opened(work, lock, fresh):
    """Record a run folder opened by the current training call (see `guarded`)."""
    _ACTIVE.append(_ActiveRun(work, lock, fresh))


def guarded(train):
    """Wraps a training function: however it ends, the run locks it took are
    released, and a fresh run folder that failed before its first epoch is
    removed."""

    @functools.wraps(train)
    def wrapper(*args, **kwargs):
        depth = len(_ACTIVE)
        try:
            return train(*args, **kwargs)
        except BaseException:
            for run in _ACTIVE[depth:]:
                run.abandon()
            raise
        finally:
            for run in reversed(_ACTIVE[depth:]):
                if run.lock is not None:
                    run.lock.release()
            del _ACTIVE[depth:]

    return wrapper


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


def _file_entries(folder):
    return {
        path.name: {"sha256": sha256_of(path), "bytes": path.stat().st_size}
        for path in sorted(Path(folder).iterdir())
        if path.is_file() and path.name != MANIFEST
    }


def finish(work, out, files, facts=None):
    """Check the run in `work` has all its `files`, record its manifest (the
    sha256 and size of each file, and `facts` such as the tokenizer's
    fingerprint), then move it to `out` in one rename."""
    work, out = Path(work), Path(out)
    check_no_links(work)
    missing = [name for name in files if not (work / name).exists()]
    if missing:
        raise RunError(
            f"Run in {work} is missing {', '.join(missing)}; not finishing it"
        )
    for name in _SCRATCH:
        path = work / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    # Temporary files of a save that was killed (atomic writes name them so).
    for path in work.glob(".*.tmp-*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    write_json(work / MANIFEST, {"files": _file_entries(work), **(facts or {})})
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


def save_model(model, path):
    """Save `model` alone, as a run's `model.keras`: a copy made from its
    config with its weights, so the file holds no optimizer state (about two
    thirds of the file for AdamW; a run in progress keeps that state in its
    backup). Written atomically."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    with atomic_path(path, suffix=".keras") as tmp:
        copy.save(tmp)
    return Path(path)


def read_small(path):
    """The text of one of a run's small files (`SIZE_LIMITS`), refused in one
    line if it is larger than any run's is."""
    path = Path(path)
    limit = SIZE_LIMITS.get(path.name, 1 << 20)  # others: 1 MB
    with open(path, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise RunIntegrityError(
            f"{path} is larger than {limit >> 20} MB, far more than a run writes: "
            "it is not this run's file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunIntegrityError(f"{path} is not UTF-8 text: it is damaged") from None


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")


def read_config(run_dir, task=None, allow_partial=False):
    """The parsed `config.json` of a finished run, after checking the run is whole
    and of this format. With `allow_partial`, an unfinished `<out>.partial`
    folder is read too."""
    run_dir = Path(run_dir)
    if run_dir.name.endswith(".partial") and not allow_partial and run_dir.is_dir():
        raise RunError(
            f"{run_dir} is an unfinished run; --resume its training to finish it "
            "(or pass --allow-partial to use it as it is)"
        )
    if not run_dir.is_dir():
        hint = ""
        if workdir_for(run_dir).is_dir():
            hint = f" (an unfinished run is at {workdir_for(run_dir)}; --resume it)"
        raise RunError(f"No run directory at {run_dir}{hint}")
    try:
        config = json.loads(read_small(run_dir / "config.json"))
    except FileNotFoundError:
        raise RunError(f"{run_dir} is not a textgru run: no config.json") from None
    except json.JSONDecodeError as error:
        raise RunError(f"{run_dir}/config.json is not valid JSON ({error})") from None
    if isinstance(config, dict) and config.get("run_format") == 1:
        raise RunIntegrityError(
            f"{run_dir} is a run of format 1 (before manifests), so none of its files "
            "can be checked; train it again"
        )
    if not isinstance(config, dict) or config.get("run_format") not in READABLE_FORMATS:
        made_by = (
            config.get("textgru_version", "unknown")
            if isinstance(config, dict)
            else "?"
        )
        raise RunError(
            f"{run_dir} was written by textgru {made_by} in a run format this "
            f"textgru {__version__} cannot read; train it again"
        )
    if task is not None and config.get("task") != task:
        raise RunError(
            f"{run_dir} is a {config.get('task')!r} run; this needs a {task!r} run"
        )
    missing = [n for n in NEEDED if not (run_dir / n).exists()]
    if missing:
        raise RunError(f"{run_dir} is incomplete: missing {', '.join(missing)}")
    if not isinstance(config.get("config"), dict):
        raise RunError(f"{run_dir}/config.json has no run settings (`config`)")
    return config


def read_manifest(run_dir, info):
    """The run's manifest, after checking that every file it lists is
    unchanged (a report may be deleted)."""
    run_dir = Path(run_dir)
    try:
        manifest = json.loads(read_small(run_dir / MANIFEST))
    except FileNotFoundError:
        raise RunIntegrityError(
            f"{run_dir} has no {MANIFEST}, so its files cannot be checked; "
            "train the run again"
        ) from None
    except ValueError:
        raise RunIntegrityError(f"{run_dir}/{MANIFEST} is damaged") from None
    files = _check_manifest(run_dir, manifest)
    for name, entry in files.items():
        path = run_dir / name
        if not path.is_file():
            if name in NEEDED:
                raise RunIntegrityError(f"{path} is missing; the run cannot be used")
            continue  # a report deleted: not needed to use the run
        if path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
            raise RunIntegrityError(
                f"{path} is not the file this run wrote (its checksum differs from "
                f"the run's {MANIFEST}); put the run's own {name} back, or train "
                "the run again"
            )
    return manifest


def _check_manifest(run_dir, manifest):
    """The manifest's `files`, after checking it has the shape a run writes
    and covers what loading relies on: every needed file and the tokenizer's
    fingerprint (a manifest emptied or cut down would switch those checks
    off)."""
    where = f"{run_dir}/{MANIFEST}"
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise RunIntegrityError(f"{where} is damaged: it has no `files` table")
    for name, entry in files.items():
        if (
            Path(name).name != name
            or name in ("", ".", "..")
            or not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or type(entry.get("bytes")) is not int
        ):
            raise RunIntegrityError(
                f"{where} is damaged: its entry {name!r} is not a file name with "
                "sha256 and bytes"
            )
    unlisted = [name for name in NEEDED if name not in files]
    if unlisted:
        raise RunIntegrityError(
            f"{where} does not list {', '.join(unlisted)}, so the run cannot be "
            "checked; put the run's own manifest back, or train the run again"
        )
    tokenizer = manifest.get("tokenizer")
    if not isinstance(tokenizer, dict) or not isinstance(
        tokenizer.get("fingerprint"), str
    ):
        raise RunIntegrityError(
            f"{where} does not record the tokenizer's fingerprint, so the tokenizer "
            "cannot be checked; put the run's own manifest back, or train the run "
            "again"
        )
    return files


def load(run_dir, task, allow_partial=False, trust_code=False):
    """The parts of a finished run: `(info, model, tokenizer, metrics)`, where
    `info` is its parsed config.json (checked by `read_config`), after
    checking every file against the run's manifest and the tokenizer against
    the model. The cell module the run names is imported only under the rule
    of `textgru.layers.cell_path.recorded_cell` (`trust_code`)."""

    info = read_config(run_dir, task=task, allow_partial=allow_partial)
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir, info) if not allow_partial else None
    cell = info["config"].get("cell")
    if cell:
        # Importing the cell's module registers its class with Keras.
        try:
            recorded_cell(cell, run_dir, trust_code)
        except UntrustedCodeError:
            raise
        except TextgruError as error:
            raise RunError(f"{run_dir} was made with its own cell: {error}") from None
    try:
        model = keras.saving.load_model(run_dir / "model.keras")
    except Exception as error:  # keras raises many kinds on a bad file
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RunError(
            f"{run_dir}/model.keras cannot be loaded ({first[:300]})"
        ) from None
    tokenizer = Tokenizer.load(run_dir / "tokenizer.json")
    check_tokenizer(run_dir, model, tokenizer, manifest)
    text = read_small(run_dir / "metrics.json")
    try:
        metrics = json.loads(text)
    except ValueError as error:
        raise RunError(f"{run_dir}/metrics.json is not valid JSON ({error})") from None
    return info, model, tokenizer, metrics


def embedding_rows(model):
    """The vocabulary size the model's embedding was made for."""
    backbone = getattr(model, "backbone", None)
    if backbone is not None:
        return int(backbone.vocab_size)
    for layer in model.layers:  # a model saved before the backbone existed
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    return None


def tokenizer_facts(model, tokenizer):
    """What the manifest records to tie a tokenizer to its model."""
    return {
        "tokenizer": {
            "vocab_size": tokenizer.vocab_size,
            "fingerprint": tokenizer.fingerprint,
        },
        "embedding_rows": embedding_rows(model),
    }


def check_tokenizer(run_dir, model, tokenizer, manifest=None):
    """Refuse a tokenizer that is not the model's: another vocabulary size
    than the embedding's, or another vocabulary than the manifest's."""
    rows = embedding_rows(model)
    if rows is not None and rows != tokenizer.vocab_size:
        raise RunIntegrityError(
            f"{run_dir}/tokenizer.json has {tokenizer.vocab_size} tokens but the "
            f"model was made for {rows}: it is not this run's tokenizer"
        )
    recorded = manifest["tokenizer"]["fingerprint"] if manifest else None
    if recorded is not None and recorded != tokenizer.fingerprint:
        raise RunIntegrityError(
            f"{run_dir}/tokenizer.json is not the tokenizer this run was trained "
            "with (its vocabulary differs); put the run's own tokenizer.json back"
        )


def keep_epochs(path, count):
    """Drop the rows of epochs `count` and later from a `history.csv`."""
    rows = read_history(path)
    kept = [row for row in rows if int(row["epoch"]) < count]
    if len(kept) == len(rows):
        return
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)


def read_history(path):
    """The rows of a `history.csv` (empty if there is none yet)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        rows = list(csv.DictReader(io.StringIO(read_small(path), newline="")))
    except csv.Error as error:
        raise RunIntegrityError(f"{path} is damaged ({error})") from None
    for number, row in enumerate(rows, start=2):
        epoch = row.get("epoch")
        if epoch is None or not epoch.strip().isdigit():
            raise RunIntegrityError(
                f"{path} is damaged: line {number} has epoch {epoch!r}, not a "
                "number; put the run's own history.csv back, or start over with "
                "--overwrite"
            )
    return rows
