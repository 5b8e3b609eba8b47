"""Transfer from a language model (ULMFiT-style): what carries over from an LM
run, the leak check on what it was trained on, and fine-tuning in stages.

    textgru train lm --dataset shakespeare,movie_dialog,snippets --tokenizer bpe \\
        --out runs/pretrained                                  # pretrain
    textgru train lm --from-lm runs/pretrained --dataset rotten_tomatoes \\
        --out runs/rt-lm                                       # fine-tune the LM
    textgru train classify --from-lm runs/rt-lm --out runs/rt  # the classifier

The recipe is Howard & Ruder's (2018): a classifier whose embedding and GRUs
start from the language model's, fine-tuned with gradual unfreezing (the new
head first, then one more layer group per stage), discriminative learning
rates (each lower group `lr_decay` times slower) and a slanted-triangular
schedule per stage. The defaults live in `textgru.training.TransferConfig`.
"""

import contextlib
import dataclasses
import time
import warnings
from pathlib import Path

import keras

from textgru import run as run_files
from textgru.data import data_home, load_dataset, parse_sources
from textgru.data.leakage import check_no_leak
from textgru.distribute import Distribution
from textgru.errors import RunError
from textgru.models import layer_groups
from textgru.training import (
    LanguageModelConfig,
    StopOnNaN,
    compile_classifier,
    drop_damaged_best,
    fit,
    read_best,
    total_steps,
    training_callbacks,
)

# What a model made from a language model takes from it, as config fields.
ARCHITECTURE = (
    "tokenizer",
    "vocab_size",
    "lowercase",
    "embed_dim",
    "units",
    "num_layers",
    "reset_after",
    "gru_layer",
    "cell",
)
LM_ARCHITECTURE = (*ARCHITECTURE, "tie_embeddings")

# The unlabelled built-in corpora pretraining reads (never a task's test texts).
PRETRAINING_CORPORA = "shakespeare,movie_dialog,snippets"
# `--from-lm pretrained` names the cached general model.
PRETRAINED = "pretrained"
# Bump when `pretraining_config` changes, so an old cached model is not reused.
PRETRAINED_VERSION = 1


def pretraining_config(**changes):
    """The recipe for the general language model that transfer starts from:
    a 2-layer GRU over 8,000 lowercased BPE pieces, on the built-in
    unlabelled corpora (`PRETRAINING_CORPORA`, 2.6M pieces of training text)."""
    config = LanguageModelConfig(
        dataset=PRETRAINING_CORPORA,
        tokenizer="bpe",
        vocab_size=8000,
        lowercase=True,
        embed_dim=128,
        units=384,
        num_layers=2,
        tie_embeddings=True,
        seq_len=64,
        dropout=0.2,
        epochs=4,
        samples=1,
        sample_length=60,
        out=str(pretrained_path()),
    )
    return config.replace(**changes)


def lm_fine_tuning_config(dataset, from_lm, **changes):
    """The recipe for fine-tuning a language model on a task's own training
    texts (its train split only, with the task's split seed)."""
    config = LanguageModelConfig(
        dataset=dataset,
        from_lm=str(from_lm),
        seq_len=64,
        dropout=0.2,
        epochs=4,
        learning_rate=1e-3,
        schedule="slanted",
        samples=1,
        sample_length=60,
    )
    return config.replace(**changes)


def pretrained_path():
    """Where the pretrained language model is cached, under the data home."""
    return data_home() / "models" / f"pretrained-lm-v{PRETRAINED_VERSION}"


def pretrained_language_model(verbose="auto"):
    """The general pretrained `LanguageModelRun` (`pretraining_config`), read
    from the cache, or trained and cached first (about 30 min on 2 CPU
    cores)."""
    from textgru.language_modeling import LanguageModelRun, train_language_model

    path = pretrained_path()
    if path.is_dir():
        return LanguageModelRun.load(path)
    config = pretraining_config()
    resume = run_files.workdir_for(path).is_dir()
    return train_language_model(config.replace(resume=resume), verbose=verbose)


def load_language_model(path):
    """The `LanguageModelRun` at `path`, or a one-line `RunError`. The name
    `"pretrained"` (when no such folder exists) is the general pretrained
    model, `pretrained_language_model()`."""
    from textgru.language_modeling import LanguageModelRun

    if str(path) == PRETRAINED and not Path(path).exists():
        return pretrained_language_model()
    try:
        return LanguageModelRun.load(path)
    except RunError as error:
        raise RunError(f"--from-lm: {error}") from None


def inherit_architecture(config, lm_config):
    """`config` with the tokenizer and network fields of the language model's
    config `lm_config` (those of `ARCHITECTURE`, and `tie_embeddings` too
    between language models)."""
    names = LM_ARCHITECTURE if hasattr(config, "tie_embeddings") else ARCHITECTURE
    return config.replace(**{name: getattr(lm_config, name) for name in names})


def corpus_of(config):
    """The corpus a run trained on, as recorded in the runs made from it."""
    return {
        "dataset": config.dataset,
        "text_column": config.text_column,
        "split_seed": config.split_seed,
    }


def pretrained_on(lm_run):
    """Every corpus whose train split the weights of `lm_run` learned from: its
    own, then those of the language model it was itself made from."""
    info = run_files.read_config(lm_run.path)
    return info.get("pretrained_on") or [corpus_of(lm_run.config)]


def lm_info(config, parent):
    """The `config.json` facts of a language-model run: what it was trained on
    (with `parent`, the `LanguageModelRun` it went on from, or None)."""
    info = {"pretrained_on": [corpus_of(config)]}
    if parent is not None:
        info["from_lm"] = str(parent.path.resolve())
        info["pretrained_on"] += pretrained_on(parent)
    return info


def check_pretraining(lm_run, config, data):
    """Refuse (`DataLeakError`) a language model that was trained on any
    validation or test text of the classification `data` (loaded as `config`
    says). A corpus that is this task's own train split is skipped: the
    classifier trains on those texts anyway."""
    own = corpus_of(config)
    heldout = [*data["validation"]["text"], *data["test"]["text"]]
    for corpus in pretrained_on(lm_run):
        if corpus == own:
            continue
        texts = load_dataset(
            parse_sources(corpus["dataset"]),
            text_column=corpus["text_column"],
            split_seed=corpus["split_seed"],
        )["train"]["text"]
        check_no_leak(
            list(texts),
            heldout,
            corpus_name=f"The language model {lm_run.path} was trained on "
            f"{corpus['dataset']}, which",
            heldout_name=f"{config.dataset} validation and test",
        )


@dataclasses.dataclass(frozen=True)
class Stage:
    """One `fit` of gradual unfreezing: the top `groups` layer groups train
    until epoch `end` (counted over the whole run)."""

    name: str
    groups: int
    end: int


def unfreezing_stages(groups, freeze_epochs, epochs):
    """The stages for layer `groups` (top first, from `layer_groups`): the top
    group alone, then one more group per stage, `freeze_epochs` each, then
    every group for `epochs`. With `freeze_epochs=0`, one stage of `epochs`."""
    stages, end = [], 0
    if freeze_epochs:
        for count in range(1, len(groups)):
            end += freeze_epochs
            name = "+".join(name for group in groups[:count] for name in group)
            stages.append(Stage(name, count, end))
    stages.append(Stage("all", len(groups), end + epochs))
    return stages


def layer_factors(groups, lr_decay):
    """Discriminative rates: the factor on the learning rate of each layer,
    1 for the top group and `lr_decay ** -k` for the k-th group below it."""
    return {
        name: lr_decay**-depth
        for depth, group in enumerate(groups)
        for name in group
        if depth and lr_decay != 1
    }


def freeze(model, groups, count):
    """Make the top `count` layer groups trainable and the rest frozen."""
    for depth, group in enumerate(groups):
        for name in group:
            model.get_layer(name).trainable = depth < count


class StageNumber(keras.callbacks.Callback):
    """Adds the stage's number (1, 2, ...) to each epoch's logs: a `stage`
    column in history.csv."""

    def __init__(self, number):
        super().__init__()
        self.number = number

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["stage"] = self.number


def fit_in_stages(
    model,
    train,
    validation,
    config,
    work,
    num_classes,
    callbacks=(),
    verbose="auto",
    distribution=None,
):
    """Fine-tune a classifier from `classifier_from_lm` by gradual unfreezing,
    one `fit` per stage, in the run folder `work`, as `config` (a
    `TransferConfig`) says.

    Each stage compiles afresh (Keras needs that when `trainable` changes),
    with its own schedule over its steps (peaking `stage_lr_decay` times
    lower than the stage before) and the discriminative factors. One
    `BackupAndRestore` folder spans the stages, so `--resume` skips the
    finished ones and continues the interrupted one.
    Returns `(model, seconds, history_rows, stages)`: the model with the
    best epoch's weights on `config.monitor` over all stages (of a
    distributed run, as `training.fit_run` returns it).
    """
    distribution = distribution or Distribution()
    groups = layer_groups(model)
    factors = layer_factors(groups, config.lr_decay)
    stages = unfreezing_stages(groups, config.freeze_epochs, config.epochs)
    steps_per_epoch = int(train.cardinality())
    start, first = time.perf_counter(), 0
    for number, stage in enumerate(stages, start=1):
        freeze(model, groups, stage.groups)
        peak = config.learning_rate / config.stage_lr_decay ** (number - 1)
        stage_config = config.replace(epochs=stage.end - first, learning_rate=peak)
        steps = total_steps(stage_config, steps_per_epoch)
        drop_damaged_best(work, distribution)
        best, seconds = read_best(work, config.monitor, distribution)
        stage_callbacks = [
            StopOnNaN(peak),
            StageNumber(number),
            *training_callbacks(config, work, best, seconds, distribution),
            *callbacks,
        ]
        with distribution.scope(), _quiet_optimizer_restore():
            compile_classifier(model, stage_config, num_classes, steps, factors)
            fit(model, train, validation, config, stage_callbacks,
                verbose if distribution.is_chief else 0,
                epochs=stage.end, first=first)  # fmt: skip
        first = stage.end
    seconds = time.perf_counter() - start
    model = distribution.local_model(model, work)
    if model is None:
        return None, seconds, [], stages
    if (work / "best.weights.h5").exists():
        with _quiet_optimizer_restore():
            model.load_weights(work / "best.weights.h5")
    history = run_files.read_history(work / "history.csv")
    return model, seconds, history, stages


@contextlib.contextmanager
def _quiet_optimizer_restore():
    """Weights saved in one stage carry that stage's optimizer state, which a
    later stage's optimizer (over more variables) cannot take; Keras skips it
    with a warning that is expected here."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipping variable loading for optimizer"
        )
        yield
