"""The callbacks of every training run: wall time, divergence, disk space,
step limits, and the checkpoint / backup / early-stopping set of a run folder."""

import errno
import math
import os
import shutil
import time
from pathlib import Path

import keras

from textgru.errors import TrainingDivergedError
from textgru.training.distribute import Distribution


class HistoryLogger(keras.callbacks.CSVLogger):
    """`CSVLogger` that also records `seconds` (wall time since training
    began, across a resume), so history.csv holds loss against time, without
    putting it in the logs the progress bar shows."""

    def __init__(self, filename, offset=0.0):
        super().__init__(filename, append=True)
        self.offset = offset

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        seconds = round(self.offset + time.perf_counter() - self.start, 1)
        super().on_epoch_end(epoch, {**(logs or {}), "seconds": seconds})


class StopOnNaN(keras.callbacks.Callback):
    """Stops training with a one-line `TrainingDivergedError` at the first
    batch whose loss is NaN or infinite, before the epoch's end would save
    the broken weights into the run's checkpoint and backup."""

    def __init__(self, learning_rate):
        super().__init__()
        self.learning_rate = learning_rate
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDivergedError(
                f"Training diverged: the loss became {float(loss)} in epoch "
                f"{self.epoch + 1}, batch {batch + 1}; lower --learning-rate (it "
                f"was {self.learning_rate}) and train again with --overwrite"
            )


class DiskSpaceGuard(keras.callbacks.Callback):
    """Before an epoch's checkpoint and backup are written, checks that the
    run's folder has room for them, and stops with a one-line `OSError`
    (ENOSPC) if not: writing into a full disk can crash the process (h5py
    has been seen to segfault). The run stays resumable."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def on_epoch_end(self, epoch, logs=None):
        # Weights, optimizer slots (x2) and the backup's copy, with a margin.
        needed = 4 * 4 * self.model.count_params() + (16 << 20)
        free = shutil.disk_usage(self.folder).free
        if free < needed:
            raise OSError(
                errno.ENOSPC,
                f"No space left on device for the checkpoint of epoch {epoch + 1} "
                f"({free >> 20} MB free, about {needed >> 20} MB needed)",
                str(self.folder),
            )


class AtomicCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` that writes each checkpoint under a temporary name
    and renames it into place, so a save that fails (a full disk) leaves the
    last good checkpoint, and stops training with a one-line `OSError`
    instead of h5py's tracebacks."""

    def _save_model(self, epoch, batch, logs):
        target = Path(self.filepath)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}.weights.h5")
        self.filepath = str(tmp)
        try:
            super()._save_model(epoch, batch, logs)
            if tmp.exists():  # saved (not every epoch is better)
                os.replace(tmp, target)
        except Exception as error:
            if isinstance(error, OSError) and error.errno is not None:
                raise
            raise OSError(
                errno.ENOSPC if _disk_full(target.parent) else errno.EIO,
                f"Could not write the checkpoint of epoch {epoch + 1} "
                f"({type(error).__name__}: {str(error).splitlines()[0][:200]})",
                str(target),
            ) from None
        finally:
            self.filepath = str(target)
            tmp.unlink(missing_ok=True)


def _disk_full(folder, margin=1 << 20):
    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


class StopAfterSteps(keras.callbacks.Callback):
    """Stop training after `steps` optimizer steps in all (`--max-steps`)."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.steps:
            self.model.stop_training = True


def training_callbacks(
    config, workdir, best_so_far=None, seconds_so_far=0.0, distribution=None
):
    """The callbacks of a run in `workdir` (a `pathlib.Path`).

    Early stopping restores the best weights; the best weights are also
    checkpointed (`best.weights.h5`), so a resumed run still ends with the
    best epoch of both parts (`best_so_far` is that epoch's monitored value);
    `BackupAndRestore` lets `--resume` continue an interrupted run from its
    last finished epoch. Its backup outlives `fit` (the finished run drops
    it), so a run that dies while writing its reports resumes without
    training again, and a run of several `fit` calls resumes in the right
    one. `history.csv` is appended epoch by epoch.

    Of a distributed run (a `textgru.training.distribute.Distribution`), every process
    keeps its own backup and stops early on the same (global) metrics, and
    only the chief writes the run's checkpoint, history and logs.
    """
    distribution = distribution or Distribution()
    mode = "max" if "acc" in config.monitor or "f1" in config.monitor else "min"
    # Every process runs the same callbacks that touch the model (on JAX,
    # saving and restoring are collective steps); the others keep their copy
    # of the best weights with their backup.
    best_path = workdir if distribution.is_chief else distribution.backup_dir(workdir)
    # At an epoch's end the backup comes last, so an epoch it holds is also
    # in the history and the checkpoint (a resume drops history rows past it).
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor=config.monitor,
            mode=mode,
            patience=config.patience,
            restore_best_weights=True,
        ),
    ]
    if distribution.is_chief:
        callbacks.append(HistoryLogger(str(workdir / "history.csv"), seconds_so_far))
    callbacks += [
        DiskSpaceGuard(workdir),
        AtomicCheckpoint(
            str(best_path / "best.weights.h5"),
            monitor=config.monitor,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.BackupAndRestore(
            str(distribution.backup_dir(workdir)),
            delete_checkpoint=False,
            # Two backups, so a kill while one is written leaves the other.
            double_checkpoint=True,
        ),
    ]
    if config.max_steps:
        callbacks.append(StopAfterSteps(config.max_steps))
    if config.tensorboard and distribution.is_chief:
        callbacks.append(keras.callbacks.TensorBoard(str(workdir / "logs")))
    return callbacks
