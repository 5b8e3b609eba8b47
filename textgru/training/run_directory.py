"""Run directories read back: what a finished run holds, checked file by
file against its manifest, for evaluation and prediction.

A run is written by `textgru.training.run_folder.RunFolder`: in
`<out>.partial/` while it trains, renamed to `<out>` once every file is
written, with a manifest of their checksums that loading checks. This
module holds what both sides share: the format, the file names, and the
readers of a run's small files.
"""

import csv
import io
import json
from pathlib import Path

import keras

from textgru import _manifest
from textgru._version import __version__
from textgru.data import Tokenizer
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
MANIFEST = _manifest.NAME
# What a run is, to its manifest (`textgru._manifest`).
KIND = _manifest.Kind(
    "run", RunIntegrityError, "put the run's own file back, or train the run again"
)
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


def workdir_for(out):
    out = Path(out)
    return out.with_name(out.name + ".partial")


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


def read_small(path):
    """The text of one of a run's small files (`SIZE_LIMITS`), refused in one
    line if it is larger than any run's is."""
    path = Path(path)
    limit = SIZE_LIMITS.get(path.name, 1 << 20)  # others: 1 MB
    too_large = RunIntegrityError(
        f"{path} is larger than {limit >> 20} MB, far more than a run writes: "
        "it is not this run's file"
    )
    data = _manifest.read_limited(path, limit, KIND, too_large=too_large)
    if len(data) > limit:
        raise too_large
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunIntegrityError(f"{path} is not UTF-8 text: it is damaged") from None


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
        if not path.exists() and not path.is_symlink():
            if name in NEEDED:
                raise RunIntegrityError(f"{path} is missing; the run cannot be used")
            continue  # a report deleted: not needed to use the run
        _manifest.check(run_dir, name, entry, KIND)
    return manifest


def _check_manifest(run_dir, manifest):
    """The manifest's `files`, after checking it has the shape a run writes
    and covers what loading relies on: every needed file and the tokenizer's
    fingerprint (a manifest emptied or cut down would switch those checks
    off)."""
    where = f"{run_dir}/{MANIFEST}"
    files = _manifest.files_of(manifest, where, KIND)
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
