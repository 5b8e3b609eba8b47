"""Training: the typed `TrainConfig`, compile defaults, callbacks and `fit`.

Everything a run can be told lives in `TrainConfig`; the `textgru train`
command line is generated from its fields, and a run directory records it in
`config.json`. The defaults are the recipe we recommend for sentiment
classification on `rotten_tomatoes`.
"""

import dataclasses
import errno
import glob
import json
import math
import os
import shutil
import time
import types
import typing

import keras

from textgru import _validation, plots
from textgru import run as run_files
from textgru.distribute import Distribution
from textgru.errors import InvalidArgumentError, RunError, TrainingDivergedError

SCHEDULES = ("constant", "cosine", "slanted")
GRU_LAYERS = ("textgru", "keras")
DEFAULT_CELL = "textgru.layers:GRUCell"


def _field(default, help):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class TrainConfig:
    """How to train a textgru model: data, tokenizer, model, optimisation, output.

    The fields every task shares. Each task has a subclass that adds its own
    fields and defaults: `ClassifierConfig` (the recommended sentiment recipe
    on `rotten_tomatoes`) and `LanguageModelConfig` (a character model of
    `shakespeare`). Every field is also a `textgru train` flag (`batch_size`
    -> `--batch-size`). Unknown fields are refused (`from_dict`), and values
    are checked when a config is made.
    """

    # Data
    dataset: str = _field("rotten_tomatoes", "built-in name, local file or hub id")
    text_column: str = _field("text", "column with the texts")
    split_seed: int = _field(0, "seed of the train/validation/test split")
    # Tokenizer
    tokenizer: str = _field("word", "word, char, byte, bpe, wordpiece or unigram")
    vocab_size: int = _field(20000, "largest vocabulary, specials included")
    lowercase: bool = _field(True, "lowercase texts before tokenizing")
    # Model
    embed_dim: int = _field(128, "embedding width")
    units: int = _field(128, "GRU units (per direction)")
    num_layers: int = _field(1, "stacked GRU layers")
    dropout: float = _field(0.4, "dropout between layers and before the output")
    recurrent_dropout: float = _field(0.0, "GRU dropout on the recurrent state")
    reset_after: bool = _field(False, "GRU form: False is the textbook one")
    gru_layer: str = _field(
        "textgru", "textgru, or keras (keras.layers.GRU, to compare)"
    )
    cell: str = _field(
        DEFAULT_CELL,
        "the GRU's cell class as package.module:ClassName: your own GRUCell "
        "subclass, or textgru.layers:MGUCell or :LayerNormGRUCell (importable, "
        "registered with Keras; in Python also the class itself)",
    )
    # Optimisation
    batch_size: int = _field(64, "examples per batch")
    epochs: int = _field(8, "most epochs (early stopping may end sooner)")
    max_steps: int | None = _field(None, "stop after this many optimizer steps")
    learning_rate: float = _field(2e-3, "peak learning rate (AdamW)")
    schedule: str = _field(
        "cosine",
        "constant, cosine (decay to 0 over the run) or slanted (ULMFiT's triangle)",
    )
    warmup_steps: int = _field(0, "steps of linear warm-up to the peak rate")
    weight_decay: float = _field(1e-4, "AdamW weight decay")
    clipnorm: float | None = _field(1.0, "clip each gradient to this norm")
    patience: int = _field(2, "epochs without improvement before stopping")
    monitor: str = _field(
        "val_loss", "metric that picks the best epoch and stops early (val_loss, ...)"
    )
    seed: int = _field(0, "seed of weights, dropout and shuffling")
    # Output
    out: str = _field("runs/sentiment", "run directory to write")
    resume: bool = _field(False, "continue the interrupted run at --out")
    overwrite: bool = _field(False, "replace an existing run at --out")
    tensorboard: bool = _field(False, "also write TensorBoard logs")
    # Scale out (textgru.distribute)
    distribute: str = _field(
        "none",
        "none, mirrored (the devices of this host) or multi-host (JAX backend, "
        "one process per host)",
    )
    devices: int | None = _field(
        None,
        "devices per host (None: every GPU, or the CPU; on a host with no GPU, "
        "N splits the CPU into N logical devices)",
    )
    coordinator: str | None = _field(
        None,
        "multi-host: HOST:PORT of process 0 (None: $KERAS_DISTRIBUTION_JOB_ADDRESSES)",
    )
    num_processes: int | None = _field(
        None,
        "multi-host: processes in all (None: $KERAS_DISTRIBUTION_NUM_PROCESSES)",
    )
    process_id: int | None = _field(
        None,
        "multi-host: this process, 0 to num_processes - 1; 0 writes the run "
        "(None: $KERAS_DISTRIBUTION_PROCESS_ID)",
    )

    # The metrics a run of this task logs, so `monitor` can name them.
    MONITORS = ("val_loss", "loss")

    def __post_init__(self):
        from textgru.layers.cell_path import cell_path, import_cell

        if isinstance(self.cell, type):
            self.cell = cell_path(self.cell)
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            _check_type(field.name, value, hints[field.name])
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidArgumentError(
                    f"Expected `{field.name}` to be a finite number. Received: "
                    f"{field.name}={value}"
                )
        positive = ["vocab_size", "embed_dim", "units", "num_layers"]
        positive += ["batch_size", "epochs"]
        positive += ["max_steps"] if self.max_steps is not None else []
        for name in positive:
            _validation.positive_int(name, getattr(self, name))
        for name in ("seed", "split_seed", "patience", "warmup_steps"):
            if getattr(self, name) < 0:
                raise InvalidArgumentError(
                    f"Expected `{name}` >= 0. Received: {name}={getattr(self, name)}"
                )
        for name in ("dropout", "recurrent_dropout"):
            _validation.rate(name, getattr(self, name))
        if self.learning_rate <= 0:
            raise InvalidArgumentError(
                f"Expected `learning_rate` > 0. Received: {self.learning_rate}"
            )
        if self.weight_decay < 0:
            raise InvalidArgumentError(
                f"Expected `weight_decay` >= 0. Received: {self.weight_decay}"
            )
        if self.clipnorm is not None and self.clipnorm <= 0:
            raise InvalidArgumentError(
                f"Expected `clipnorm` > 0, or None for no clipping. Received: "
                f"{self.clipnorm}"
            )
        _one_of("monitor", self.monitor, self.MONITORS)
        _one_of("schedule", self.schedule, SCHEDULES)
        from textgru.data.tokenizer import KINDS

        _one_of("tokenizer", self.tokenizer, KINDS)
        _one_of("gru_layer", self.gru_layer, GRU_LAYERS)
        cell = import_cell(self.cell)
        if self.gru_layer == "keras" and cell_path(cell) != DEFAULT_CELL:
            raise InvalidArgumentError(
                f"Your own cell runs in the textgru GRU only. Received: "
                f"cell={self.cell!r} with gru_layer='keras'; drop one"
            )
        from textgru.distribute import check_config

        check_config(self)
        if self.resume and self.overwrite:
            raise InvalidArgumentError(
                "`resume` continues a run and `overwrite` replaces it; pass one"
            )

    @classmethod
    def from_dict(cls, values):
        """A config from a dict, refusing keys that are not fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InvalidArgumentError(
                f"Unknown {cls.__name__} field(s): {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(names))}"
            )
        return cls(**values)

    def to_dict(self):
        return dataclasses.asdict(self)

    def with_absolute_paths(self):
        """This config with its local dataset files (and `from_lm` run) as
        absolute paths, so that the run it records works from any folder."""

        def absolute(source):
            expanded = os.path.expanduser(source)
            if os.path.exists(expanded) or glob.has_magic(expanded):
                return os.path.abspath(expanded)
            return source

        changes = {"dataset": ",".join(map(absolute, self.dataset.split(",")))}
        if getattr(self, "from_lm", None):
            changes["from_lm"] = absolute(self.from_lm)
        return self.replace(**changes)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def gru_class(self):
        """The recurrent layer class `gru_layer` names."""
        from textgru.layers import GRU

        return GRU if self.gru_layer == "textgru" else keras.layers.GRU

    @property
    def cell_class(self):
        """The cell class `cell` names."""
        from textgru.layers.cell_path import import_cell

        return import_cell(self.cell)


@dataclasses.dataclass
class ClassifierConfig(TrainConfig):
    """A `TrainConfig` for text classification (`textgru train classify`);
    its defaults are the recommended sentiment recipe on `rotten_tomatoes`."""

    MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")

    label_column: str | None = _field(None, "column with the labels (default: label)")
    max_length: int = _field(128, "keep at most this many tokens per text")
    bidirectional: bool = _field(True, "read texts both ways")
    pooling: str = _field("max", "last, max, mean, or concat (all three)")
    embedding_dropout: float = _field(0.2, "dropped embedding channels")
    bucket_by_length: bool = _field(True, "batch texts of similar length together")

    def __post_init__(self):
        super().__post_init__()
        from textgru.models.classifier import POOLINGS

        _validation.positive_int("max_length", self.max_length)
        _validation.rate("embedding_dropout", self.embedding_dropout)
        _one_of("pooling", self.pooling, POOLINGS)


@dataclasses.dataclass
class TransferConfig(ClassifierConfig):
    """A `ClassifierConfig` for a classifier that starts from a trained
    language model (`textgru train classify --from-lm RUN_DIR`, ULMFiT-style).

    The tokenizer and the network's sizes (`tokenizer`, `vocab_size`,
    `lowercase`, `embed_dim`, `units`, `num_layers`, `reset_after`,
    `gru_layer`, `cell`) are the language model's: a run fills them in from it and
    records them. The classifier reads one way, as the language model does.
    Training goes in stages (gradual unfreezing): the head alone for
    `freeze_epochs`, then one more layer group (the top GRU, the next GRU,
    ..., the embedding) for `freeze_epochs` each, then everything for
    `epochs`. Each stage has its own slanted-triangular schedule, peaking at
    `learning_rate` in the first stage and `stage_lr_decay` times lower in
    each next one (as ULMFiT's recipe lowers it), and each group lower down
    learns `lr_decay` times slower (discriminative rates).
    """

    from_lm: str = _field("", "language-model run directory to start from")
    freeze_epochs: int = _field(
        1, "epochs per gradual-unfreezing stage; 0 trains every layer from the start"
    )
    lr_decay: float = _field(
        2.6, "each lower layer group learns this many times slower (1: same rate)"
    )
    bidirectional: bool = _field(False, "read texts both ways (not with --from-lm)")
    pooling: str = _field("concat", "last, max, mean, or concat (all three)")
    embedding_dropout: float = _field(0.1, "dropped embedding channels")
    schedule: str = _field(
        "slanted", "constant, cosine, or slanted (ULMFiT's triangle, per stage)"
    )
    learning_rate: float = _field(
        1e-2, "peak learning rate of the top layer group in the first stage"
    )
    stage_lr_decay: float = _field(
        2.0, "each stage's peak learning rate is this many times the next one's"
    )
    epochs: int = _field(6, "most epochs with every layer training (after the stages)")
    out: str = _field("runs/transfer", "run directory to write")

    def __post_init__(self):
        super().__post_init__()
        if not self.from_lm:
            raise InvalidArgumentError(
                "A TransferConfig needs `from_lm`, the language-model run to start "
                "from (textgru train lm ... writes one)"
            )
        if self.bidirectional:
            raise InvalidArgumentError(
                "A classifier from a language model reads one way, as the language "
                "model does; drop --bidirectional"
            )
        if self.freeze_epochs < 0:
            raise InvalidArgumentError(
                f"Expected `freeze_epochs` >= 0. Received: {self.freeze_epochs}"
            )
        for name in ("lr_decay", "stage_lr_decay"):
            if not getattr(self, name) >= 1:
                raise InvalidArgumentError(
                    f"Expected `{name}` >= 1. Received: {name}={getattr(self, name)}"
                )


@dataclasses.dataclass
class LanguageModelConfig(TrainConfig):
    """A `TrainConfig` for language modelling (`textgru train lm`); its
    defaults are a character model of `shakespeare`."""

    dataset: str = _field(
        "shakespeare",
        "built-in name, local text file or hub id; several joined by commas",
    )
    tokenizer: str = _field("char", "char, byte, word, bpe, wordpiece or unigram")
    vocab_size: int = _field(256, "largest vocabulary, specials included")
    lowercase: bool = _field(False, "lowercase texts before tokenizing")
    embed_dim: int = _field(64, "embedding width")
    units: int = _field(512, "GRU units")
    dropout: float = _field(0.1, "dropout between layers and before the output")
    batch_size: int = _field(64, "windows per batch")
    epochs: int = _field(5, "most epochs (early stopping may end sooner)")
    learning_rate: float = _field(3e-3, "peak learning rate (AdamW)")
    warmup_steps: int = _field(100, "steps of linear warm-up to the peak rate")
    out: str = _field("runs/lm", "run directory to write")
    seq_len: int = _field(128, "tokens per training window")
    stateful: bool = _field(
        True, "carry the GRU state across consecutive windows (reset each epoch)"
    )
    tie_embeddings: bool = _field(False, "share the embedding with the output layer")
    from_lm: str | None = _field(
        None,
        "a language-model run to go on training on --dataset (its tokenizer and "
        "network sizes are kept)",
    )
    samples: int = _field(3, "passages per temperature written to samples.txt")
    sample_length: int = _field(300, "tokens per sample passage")

    def __post_init__(self):
        super().__post_init__()
        for name in ("seq_len", "sample_length"):
            _validation.positive_int(name, getattr(self, name))
        if self.stateful and self.distribute != "none":
            raise InvalidArgumentError(
                "A stateful language model keeps one state per batch row, which "
                f"--distribute {self.distribute} splits across devices; pass "
                "--no-stateful"
            )
        if self.samples < 0:
            raise InvalidArgumentError(
                f"Expected `samples` >= 0. Received: samples={self.samples}"
            )


def _one_of(name, value, allowed):
    if value not in allowed:
        raise InvalidArgumentError(
            f"Expected `{name}` to be one of {', '.join(allowed)}. "
            f"Received: {name}={value!r}"
        )


def _check_type(name, value, hint):
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return
    for kind in allowed:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return
        if kind is int and isinstance(value, bool):
            continue
        if kind is not type(None) and isinstance(value, kind):
            return
    expected = " or ".join("None" if k is type(None) else k.__name__ for k in allowed)
    raise InvalidArgumentError(
        f"Expected `{name}` to be {expected}. Received: {name}={value!r}"
    )


def total_steps(config, steps_per_epoch):
    steps = config.epochs * steps_per_epoch
    return min(steps, config.max_steps) if config.max_steps else steps


def learning_rate_schedule(config, steps):
    """The learning rate over `steps` optimizer steps, as a Keras schedule.

    `slanted` is `textgru.schedules.SlantedTriangular` (it has its own rise,
    so `warmup_steps` does not apply to it)."""
    if config.schedule == "slanted":
        from textgru.schedules import SlantedTriangular

        return SlantedTriangular(config.learning_rate, max(int(steps), 1))
    if config.schedule == "constant" and not config.warmup_steps:
        return config.learning_rate
    warmup = min(config.warmup_steps, max(steps - 1, 0))
    decay_steps = max(steps - warmup, 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else config.learning_rate,
        decay_steps=decay_steps,
        alpha=1.0 if config.schedule == "constant" else 0.0,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def make_optimizer(config, steps, layer_factors=None):
    """AdamW with `config`'s rate schedule over `steps` steps, weight decay and
    clipping; with `layer_factors` (layer name -> factor on the rate), a
    `textgru.optimizers.DiscriminativeAdamW`."""
    options = {
        "learning_rate": learning_rate_schedule(config, steps),
        "weight_decay": config.weight_decay,
        "clipnorm": config.clipnorm,
    }
    if layer_factors:
        from textgru.optimizers import DiscriminativeAdamW

        return DiscriminativeAdamW(layer_factors=layer_factors, **options)
    return keras.optimizers.AdamW(**options)


def compile_classifier(model, config, num_classes, steps, layer_factors=None):
    """Compile `model` with textgru's defaults for classification (see
    `make_optimizer` for `layer_factors`)."""
    loss = (
        "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    )
    model.compile(
        optimizer=make_optimizer(config, steps, layer_factors),
        loss=loss,
        metrics=["accuracy"],
    )
    return model


class ElapsedTime(keras.callbacks.Callback):
    """Adds `seconds` (wall time since training began, across a resume) to each
    epoch's logs, so history.csv records loss against time."""

    def __init__(self, offset=0.0):
        super().__init__()
        self.offset = offset

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = round(self.offset + time.perf_counter() - self.start, 1)


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

    Of a distributed run (a `textgru.distribute.Distribution`), every process
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
        ElapsedTime(seconds_so_far),
        keras.callbacks.EarlyStopping(
            monitor=config.monitor,
            mode=mode,
            patience=config.patience,
            restore_best_weights=True,
        ),
    ]
    if distribution.is_chief:
        callbacks.append(
            keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True)
        )
    callbacks += [
        DiskSpaceGuard(workdir),
        keras.callbacks.ModelCheckpoint(
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


def fit(
    model, train, validation, config, callbacks, verbose="auto", epochs=None, first=0
):
    """`model.fit` from epoch `first` to `epochs` (default `config.epochs`);
    returns the seconds it took."""
    start = time.perf_counter()
    model.fit(
        train,
        validation_data=validation,
        epochs=config.epochs if epochs is None else epochs,
        initial_epoch=first,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=verbose,
    )
    return time.perf_counter() - start


def drop_damaged_best(work, distribution=None):
    """A best-epoch checkpoint that a kill left half-written is dropped (the
    resumed run saves a new one at its next best epoch)."""
    from textgru.distribute import readable_weights

    distribution = distribution or Distribution()
    folder = work if distribution.is_chief else distribution.backup_dir(work)
    best = folder / "best.weights.h5"
    if best.exists() and not readable_weights(best):
        best.unlink()


def read_best(work, monitor, distribution=None):
    """`(best monitored value, seconds trained)` so far in the run folder
    `work`, from its history.csv (`(None, 0.0)` before the first epoch); of
    a distributed run, the chief's on every process."""

    def read():
        earlier = run_files.read_history(work / "history.csv")
        seconds = float(earlier[-1].get("seconds") or 0) if earlier else 0.0
        return json.dumps([best_value(earlier, monitor), seconds])

    return tuple(json.loads((distribution or Distribution()).from_chief(read)))


def best_value(history_rows, monitor):
    """The best `monitor` value in the rows of a history.csv, or None."""
    values = [
        float(r[monitor]) for r in history_rows if r.get(monitor) not in (None, "")
    ]
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return None
    better_is_higher = "acc" in monitor or "f1" in monitor
    return max(values) if better_is_higher else min(values)


# --- a training run, shared by every task ---------------------------------------

# Fields that may differ between an interrupted run and its --resume.
_RESUME_FREE = {"resume", "overwrite", "epochs", "max_steps", "tensorboard"}
# Where each process of a run was started: not part of the recipe.
_LAUNCH = {"coordinator": None, "process_id": None}
_RESUME_FREE |= set(_LAUNCH)


def open_run(config, task, train_split, info, tokenizer=None, distribution=None):
    """Start (or resume) the run directory of `config.out` for `task`.

    Trains the tokenizer on `train_split`, or takes the given `tokenizer`
    (a language model's, for transfer), or when resuming reads the one the
    interrupted run saved; records `config.json` with `info` (task facts
    such as label names). Returns `(workdir, resumed, tokenizer)`.

    Of a distributed run, the chief does all that and gives the other
    processes its tokenizer; they write nothing but their own backups, and
    a resumed run checks that every process resumes from the same epoch.
    """
    from textgru.data import Tokenizer, train_tokenizer

    distribution = distribution or Distribution()
    work = run_files.workdir_for(config.out)

    def begin():
        nonlocal tokenizer
        run_files.check_out(config.out)
        # Held until the training call returns (`run.guarded`).
        lock = run_files.RunLock(config.out).acquire()
        try:
            _, resumed = run_files.start(
                config.out, resume=config.resume, overwrite=config.overwrite
            )
        except BaseException:
            lock.release()
            raise
        run_files.opened(work, lock, fresh=not resumed)
        if resumed:
            _check_same_settings(work, config)
            tokenizer = Tokenizer.load(work / "tokenizer.json")
        else:
            if tokenizer is None:
                tokenizer = train_tokenizer(
                    train_split,
                    kind=config.tokenizer,
                    vocab_size=config.vocab_size,
                    lowercase=config.lowercase,
                )
            tokenizer.save(work / "tokenizer.json")
            run_files.write_json(
                work / "config.json", _run_info(config, task, info, False)
            )
        return json.dumps({"resumed": resumed, "tokenizer": tokenizer.to_json()})

    shared = json.loads(distribution.from_chief(begin))
    if not distribution.is_chief:
        tokenizer = Tokenizer.from_json(shared["tokenizer"])
    epochs = distribution.prepare_backups(work, shared["resumed"])
    if shared["resumed"] and distribution.is_chief:
        # Training goes on after the epochs the backup holds.
        run_files.keep_epochs(work / "history.csv", epochs)
    return work, shared["resumed"], tokenizer


def fit_run(
    model,
    train,
    validation,
    config,
    work,
    callbacks=(),
    verbose="auto",
    distribution=None,
):
    """Fit a compiled `model` in the run's `work` folder and keep its best epoch.

    Returns `(model, seconds, history_rows)`: the model with the best weights
    on `config.monitor`, across an interruption and its resume. Of a
    distributed run (built and compiled in `distribution.scope()`), the model
    returned is an ordinary one-device copy on the chief, and `None` on the
    other processes.
    """
    distribution = distribution or Distribution()
    history_path = work / "history.csv"
    drop_damaged_best(work, distribution)
    best_so_far, seconds_so_far = read_best(work, config.monitor, distribution)
    all_callbacks = [
        StopOnNaN(config.learning_rate),
        *training_callbacks(config, work, best_so_far, seconds_so_far, distribution),
        *callbacks,
    ]
    with distribution.scope():
        seconds = fit(
            model, train, validation, config, all_callbacks,
            verbose=verbose if distribution.is_chief else 0,
        )  # fmt: skip
    model = distribution.local_model(model, work)
    if model is not None and (work / "best.weights.h5").exists():
        model.load_weights(work / "best.weights.h5")
    return model, seconds, run_files.read_history(history_path)


def close_run(work, config, task, model, metrics, history, info, figures=None):
    """Write the model, metrics, curves, the task's `figures` (file name ->
    matplotlib Figure) and config, then finish the run directory (with its
    manifest) in one rename. Returns its final path."""
    from textgru.data import Tokenizer

    model.save(work / "model.keras")
    run_files.write_json(work / "metrics.json", metrics)
    figures = {"training_curves.png": plots.training_curves(history), **(figures or {})}
    for name, figure in figures.items():
        plots.save(figure, work / name)
    run_files.write_json(work / "config.json", _run_info(config, task, info, True))
    tokenizer = Tokenizer.load(work / "tokenizer.json")
    facts = run_files.tokenizer_facts(model, tokenizer)
    return run_files.finish(work, config.out, task, facts)


def _run_info(config, task, info, finished):
    from textgru import __version__

    return {
        "task": task,
        "run_format": run_files.RUN_FORMAT,
        "textgru_version": __version__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        **info,
        "config": config.replace(resume=False, overwrite=False, **_LAUNCH).to_dict(),
        "finished": finished,
    }


def _check_same_settings(work, config):
    saved = json.loads((work / "config.json").read_text(encoding="utf-8"))["config"]
    # A field newer than the run was at its default there.
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    changed = [
        f"{name} ({saved.get(name, defaults[name])!r} -> {value!r})"
        for name, value in config.to_dict().items()
        if name not in _RESUME_FREE and saved.get(name, defaults[name]) != value
    ]
    if changed:
        raise RunError(
            f"The interrupted run at {work} was started with other settings: "
            f"{', '.join(changed)}; resume with the same flags"
        )
