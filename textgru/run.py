"""Run directories: what a training run leaves behind, written so that an
interrupted run never looks complete, and read back for evaluation and
prediction.

A run trains in `<out>.partial/` and is renamed to `<out>` only once every
file is written. `--resume` continues in `<out>.partial/`.
"""

import csv
import json
import shutil
from pathlib import Path

from textgru._atomic import atomic_path, write_text
from textgru.errors import RunError, TextgruError

# Bump when the files or their meaning change; older runs are then refused.
RUN_FORMAT = 1
# What loading a run needs; the reports after it are written by every run
# but not needed to use it (runs made before a report existed still load).
_NEEDED = ("model.keras", "tokenizer.json", "config.json", "metrics.json")
_REPORTS = ("history.csv", "training_curves.png", "gates.png")
FILES = {
    "classify": (*_NEEDED, *_REPORTS, "confusion_matrix.png"),
    "lm": (*_NEEDED, *_REPORTS, "samples.txt"),
}
# The model of a distributed run, saved to be reloaded on one device.
DISTRIBUTED_MODEL = "distributed.keras"
# Working files that do not belong in a finished run.
_SCRATCH = ("backup", "best.weights.h5", DISTRIBUTED_MODEL)


class RunDirectory:
    """What every finished run offers from its folder `self.path` (a base of
    `ClassifierRun` and `LanguageModelRun`)."""

    @property
    def history(self):
        """The run's `history.csv`: one dict per epoch (for `plots.training_curves`)."""
        return read_history(self.path / "history.csv")


def workdir_for(out):
    out = Path(out)
    return out.with_name(out.name + ".partial")


def start(out, *, resume=False, overwrite=False):
    """Create (or, with `resume`, find) the working folder of a run at `out`.

    Returns `(workdir, resumed)`.
    """
    out = Path(out)
    work = workdir_for(out)
    if resume:
        if not work.is_dir():
            raise RunError(
                f"Nothing to resume at {out}: no interrupted run ({work} does not "
                "exist); drop --resume to start a new run"
            )
        return work, True
    if out.exists() and not overwrite:
        raise RunError(
            f"{out} already exists; pass --overwrite to replace it, "
            "or choose another --out"
        )
    if work.exists():
        if not overwrite:
            raise RunError(
                f"An interrupted run is at {work}; pass --resume to continue it "
                "or --overwrite to start over"
            )
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return work, False


def finish(work, out, task):
    """Check the run in `work` is whole, then move it to `out` in one rename."""
    work, out = Path(work), Path(out)
    missing = [name for name in FILES[task] if not (work / name).exists()]
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
    if out.exists():
        old = out.with_name(f".{out.name}.replaced")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        work.rename(out)
        shutil.rmtree(old)
    else:
        work.rename(out)
    return out


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")


def read_config(run_dir, task=None):
    """The parsed `config.json` of a finished run, after checking the run is whole
    and of this format."""
    from textgru import __version__

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        hint = ""
        if workdir_for(run_dir).is_dir():
            hint = f" (an unfinished run is at {workdir_for(run_dir)}; --resume it)"
        raise RunError(f"No run directory at {run_dir}{hint}")
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{run_dir} is not a textgru run: no config.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{run_dir}/config.json is not valid JSON ({error})") from None
    if not isinstance(config, dict) or config.get("run_format") != RUN_FORMAT:
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
    missing = [n for n in _NEEDED if not (run_dir / n).exists()]
    if missing:
        raise RunError(f"{run_dir} is incomplete: missing {', '.join(missing)}")
    return config


def load(run_dir, task):
    """The parts of a finished run: `(info, model, tokenizer, metrics)`, where
    `info` is its parsed config.json (checked by `read_config`)."""
    import keras

    from textgru.data import Tokenizer
    from textgru.layers.cell_path import import_cell

    info = read_config(run_dir, task=task)
    run_dir = Path(run_dir)
    cell = info.get("config", {}).get("cell")
    if cell:
        # Importing the cell's module registers its class with Keras.
        try:
            import_cell(cell)
        except TextgruError as error:
            raise RunError(f"{run_dir} was made with its own cell: {error}") from None
    try:
        model = keras.saving.load_model(run_dir / "model.keras")
    except Exception as error:  # keras raises many kinds on a bad file
        raise RunError(f"{run_dir}/model.keras cannot be loaded ({error})") from None
    tokenizer = Tokenizer.load(run_dir / "tokenizer.json")
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return info, model, tokenizer, metrics


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
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))
