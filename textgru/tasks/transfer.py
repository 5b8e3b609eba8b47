"""Transfer from a language model (ULMFiT-style): the classifier that starts
from a language model run, and the general pretrained language model.

    textgru train lm --dataset shakespeare,movie_dialog,snippets --tokenizer bpe \\
        --out runs/pretrained                                  # pretrain
    textgru train lm --from-lm runs/pretrained --dataset rotten_tomatoes \\
        --out runs/rt-lm                                       # fine-tune the LM
    textgru train classify --from-lm runs/rt-lm --out runs/rt  # the classifier

The recipe is Howard & Ruder's (2018): a classifier whose embedding and GRUs
start from the language model's, fine-tuned with gradual unfreezing (the new
head first, then one more layer group per stage), discriminative learning
rates (each lower group `lr_decay` times slower) and a slanted-triangular
schedule per stage (`textgru.training.stages`). The defaults live in
`TransferConfig`; what the language model was trained on is checked against
the classifier's held-out texts (`textgru.tasks.lineage`).
"""

import dataclasses
from pathlib import Path

from textgru import _validation
from textgru._config import field
from textgru.data import data_home
from textgru.errors import InvalidArgumentError, RunError
from textgru.tasks import lineage
from textgru.tasks.classification import ClassificationTask, ClassifierConfig
from textgru.tasks.language_modeling import (
    LanguageModelConfig,
    LanguageModelRun,
    load_language_model,
    train_language_model,
)
from textgru.training import run_directory
from textgru.training.stages import fit_in_stages


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

    from_lm: str = field("", "language-model run directory to start from")
    freeze_epochs: int = field(
        1, "epochs per gradual-unfreezing stage; 0 trains every layer from the start"
    )
    lr_decay: float = field(
        2.6, "each lower layer group learns this many times slower (1: same rate)"
    )
    bidirectional: bool = field(False, "read texts both ways (not with --from-lm)")
    pooling: str = field("concat", "last, max, mean, or concat (all three)")
    embedding_dropout: float = field(0.1, "dropped embedding channels")
    # Off: its transfer figures were measured without it (it is an option).
    adversarial: float = field(
        0.0,
        "adversarial training: also fit each text with its embeddings moved up "
        "the loss gradient by this fraction of their norm (0 is off)",
    )
    schedule: str = field(
        "slanted", "constant, cosine, or slanted (ULMFiT's triangle, per stage)"
    )
    learning_rate: float = field(
        1e-2, "peak learning rate of the top layer group in the first stage"
    )
    stage_lr_decay: float = field(
        2.0, "each stage's peak learning rate is this many times the next one's"
    )
    epochs: int = field(
        6,
        "most epochs with every layer training (after the stages)",
        resume_free=True,
    )
    out: str = field("runs/transfer", "run directory to write")

    def __post_init__(self):
        super().__post_init__()
        if not self.from_lm:
            raise InvalidArgumentError(
                "A TransferConfig needs `from_lm`, the language-model run to start "
                "from (textgru train lm ... writes one)"
            )
        if self.teacher:
            raise InvalidArgumentError(
                "A classifier from a language model is not distilled from a teacher "
                "(yet); drop --teacher, or --from-lm to distil into a new GRU"
            )
        if self.embeddings:
            raise InvalidArgumentError(
                "A classifier from a language model takes the language model's "
                "embedding; drop --embeddings"
            )
        if self.bidirectional:
            raise InvalidArgumentError(
                "A classifier from a language model reads one way, as the language "
                "model does; drop --bidirectional"
            )
        _validation.at_least("freeze_epochs", self.freeze_epochs, 0)
        for name in ("lr_decay", "stage_lr_decay"):
            _validation.at_least(name, getattr(self, name), 1)


class TransferTask(ClassificationTask):
    """Classification from a language model run: the classifier takes its
    tokenizer, sizes and weights, and trains in stages."""

    config_class = TransferConfig
    switch = "from_lm"
    switch_help = "a classifier that starts from a language model"

    def parent(self, config):
        if config.from_lm == PRETRAINED and not Path(PRETRAINED).exists():
            raise RunError(
                "--from-lm pretrained names the general pretrained language model, "
                "which loading never trains: pass "
                "textgru.tasks.transfer.resolve_from_lm('pretrained') instead (the "
                "textgru command and recipes/transfer.py do)"
            )
        return load_language_model(config.from_lm)

    def info(self, config, data, parent):
        info = super().info(config, data, parent)
        lineage.check_pretraining(parent, config, data)
        info["from_lm"] = {
            "path": str(parent.path.resolve()),
            "pretrained_on": lineage.pretrained_on(parent),
        }
        return info

    def fit(self, model, train, validation, context):
        return fit_in_stages(
            model, model.layer_groups(), self.compile, train, validation, context
        )


TRANSFER = TransferTask()


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
    path = pretrained_path()
    if path.is_dir():
        return LanguageModelRun.load(path)
    config = pretraining_config()
    resume = run_directory.workdir_for(path).is_dir()
    return train_language_model(config.replace(resume=resume), verbose=verbose)


def resolve_from_lm(path, verbose="auto"):
    """`--from-lm` as a run folder: the name `pretrained` (when no folder of
    that name exists) is the general pretrained model, trained and cached
    first if need be. Called by what may train (the CLI, the recipes), never
    by a loader."""
    if str(path) == PRETRAINED and not Path(path).exists():
        return str(pretrained_language_model(verbose=verbose).path)
    return path
