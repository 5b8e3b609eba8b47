"""A run's `keras.callbacks.BackupAndRestore` folder: how many epochs it
holds, and putting it right after a kill.

Each process of a run keeps its own backup (`Distribution.backup_dir`):
the weights and the training metadata of its last finished epoch, and with
`double_checkpoint=True` a copy of the epoch before (".bkp"), so a process
killed while it wrote one still has the other.
"""

import json
import shutil

from textgru.training.run_directory import read_small

# What keras.callbacks.BackupAndRestore writes (and, with double_checkpoint,
# keeps a copy of with ".bkp" added).
BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")


def readable_weights(path):
    """Whether `path` is a whole HDF5 weights file (a kill while it was
    written leaves one that h5py cannot open)."""
    import h5py

    try:
        with h5py.File(path, "r"):
            return True
    except (OSError, ValueError):
        return False


def repair_backup(backup):
    """A backup damaged by a kill while it was written goes back to the one
    before it (`.bkp`), or, with none, is dropped (the run then starts its
    training over)."""
    weights, metadata = (backup / name for name in BACKUP_FILES)
    if not weights.exists() or (
        readable_weights(weights) and backed_up_epochs(backup) > 0
    ):
        return
    previous = backup / f"{BACKUP_FILES[0]}.bkp"
    if previous.exists() and readable_weights(previous):
        step_back(backup)
    else:
        shutil.rmtree(backup)


def backed_up_epochs(backup, suffix=""):
    """How many epochs the `BackupAndRestore` folder `backup` holds (0: none;
    with `suffix` ".bkp", its backup before the last)."""
    try:
        metadata = json.loads(read_small(backup / f"training_metadata.json{suffix}"))
        return max(0, int(metadata.get("epoch", 0)))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0  # none, or damaged: nothing to resume from


def step_back(backup):
    """Put the backup before the last (".bkp") in the last one's place."""
    for name in BACKUP_FILES:
        shutil.copyfile(backup / f"{name}.bkp", backup / name)
