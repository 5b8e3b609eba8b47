"""The training sections of a run's config, and `TrainConfig`, which joins
every section into the one flat config a run records.

Each section sits next to the code that uses it (see `textgru._config`);
each task subclasses `TrainConfig` with its own fields and defaults
(`textgru.tasks.ClassifierConfig`, `LanguageModelConfig`, `TransferConfig`).
"""

import dataclasses
import glob
import importlib.util
import json
import os

from textgru import _validation
from textgru._config import Section, before_fields, field, names_where
from textgru.data.config import DataConfig, TokenizerConfig, describe_source
from textgru.data.tokenizer import KINDS
from textgru.errors import InvalidArgumentError
from textgru.models.config import ModelConfig
from textgru.training.distribute import DistributeConfig
from textgru.training.schedules import SCHEDULES


@dataclasses.dataclass
class OptimizationConfig(Section):
    """How the weights are fitted: batches, epochs, AdamW and its schedule,
    early stopping."""

    batch_size: int = field(64, "examples per batch")
    epochs: int = field(
        8, "most epochs (early stopping may end sooner)", resume_free=True
    )
    max_steps: int | None = field(
        None, "stop after this many optimizer steps", resume_free=True
    )
    learning_rate: float = field(2e-3, "peak learning rate (AdamW)")
    schedule: str = field(
        "cosine",
        "constant, cosine (decay to 0 over the run) or slanted (ULMFiT's triangle)",
    )
    warmup_steps: int = field(0, "steps of linear warm-up to the peak rate")
    weight_decay: float = field(1e-4, "AdamW weight decay")
    clipnorm: float | None = field(1.0, "clip each gradient to this norm")
    patience: int = field(2, "epochs without improvement before stopping")
    monitor: str = field(
        "val_loss", "metric that picks the best epoch and stops early (val_loss, ...)"
    )
    seed: int = field(0, "seed of weights, dropout and shuffling")

    # The metrics a run of this task logs, so `monitor` can name them.
    MONITORS = ("val_loss", "loss")

    def __post_init__(self):
        super().__post_init__()
        for name in ("batch_size", "epochs"):
            _validation.positive_int(name, getattr(self, name))
        if self.max_steps is not None:
            _validation.positive_int("max_steps", self.max_steps)
        _validation.seed("seed", self.seed)
        for name in ("patience", "warmup_steps"):
            _validation.at_least(name, getattr(self, name), 0)
        if self.learning_rate <= 0:
            raise InvalidArgumentError(
                f"Expected `learning_rate` > 0. Received: {self.learning_rate}"
            )
        _validation.at_least("weight_decay", self.weight_decay, 0)
        if self.clipnorm is not None and self.clipnorm <= 0:
            raise InvalidArgumentError(
                f"Expected `clipnorm` > 0, or None for no clipping. Received: "
                f"{self.clipnorm}"
            )
        _validation.one_of("monitor", self.monitor, self.MONITORS)
        _validation.one_of("schedule", self.schedule, SCHEDULES)


@dataclasses.dataclass
class RunConfig(Section):
    """Where the run directory goes (`textgru.training.run_directory`)."""

    out: str = field("runs/sentiment", "run directory to write")
    resume: bool = field(
        False, "continue the interrupted run at --out", resume_free=True
    )
    overwrite: bool = field(False, "replace an existing run at --out", resume_free=True)
    tensorboard: bool = field(
        False,
        "also write TensorBoard logs to <out>/logs (needs the tensorboard extra: "
        'pip install -e ".[tensorboard]")',
        resume_free=True,
    )

    def __post_init__(self):
        super().__post_init__()
        if self.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise InvalidArgumentError(
                "--tensorboard needs TensorBoard, which is not installed; install "
                'the extra (pip install -e ".[tensorboard]") or drop --tensorboard'
            )
        if self.resume and self.overwrite:
            raise InvalidArgumentError(
                "`resume` continues a run and `overwrite` replaces it; pass one"
            )


@dataclasses.dataclass
class TrainConfig(
    DistributeConfig,
    RunConfig,
    OptimizationConfig,
    ModelConfig,
    TokenizerConfig,
    DataConfig,
):
    """How to train a textgru model: data, tokenizer, model, optimisation, run.

    The fields every task shares, one section each (`DataConfig`,
    `TokenizerConfig`, `ModelConfig`, `OptimizationConfig`, `RunConfig`,
    `DistributeConfig`). Each task has a subclass that adds its own fields
    and defaults: `ClassifierConfig` (the recommended sentiment recipe on
    `rotten_tomatoes`) and `LanguageModelConfig` (a character model of
    `shakespeare`). Every field is also a `textgru train` flag (`batch_size`
    -> `--batch-size`). Unknown fields are refused (`from_dict`), and values
    are checked when a config is made.
    """

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
        """The fields as a dict, a dataset given in memory by its description
        (`data.config.describe_source`)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["dataset"] = describe_source(self.dataset)
        return values

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @classmethod
    def architecture(cls):
        """The fields a model made from another takes from it (tokenizer and
        network), as the fields marked `architecture` say."""
        return names_where(cls, "architecture")

    def inherit(self, other):
        """This config with the `architecture` fields of `other` (the config
        of the model it starts from) that it has too."""
        names = set(self.architecture()) & set(other.architecture())
        return self.replace(**{name: getattr(other, name) for name in names})

    def recorded(self):
        """The dict a run records: without where a process was started, and
        without `resume` / `overwrite` (how it was started)."""
        launch = dict.fromkeys(names_where(type(self), "launch"))
        return self.replace(resume=False, overwrite=False, **launch).to_dict()

    def changed_since(self, saved):
        """The fields that differ from `saved` (a recorded dict) and may not
        change on `--resume`, as `name (old -> new)` texts. A field newer than
        the run counts as its default there."""
        free = set(names_where(type(self), "resume_free"))
        defaults = before_fields(type(self))
        return [
            f"{name} ({saved.get(name, defaults[name])!r} -> {value!r})"
            for name, value in self.to_dict().items()
            if name not in free and saved.get(name, defaults[name]) != value
        ]

    def with_absolute_paths(self):
        """This config with its local dataset files (and `from_lm` run, and
        `embeddings` file) as absolute paths, so that the run it records
        works from any folder."""

        def absolute(source):
            expanded = os.path.expanduser(source)
            if os.path.exists(expanded) or glob.has_magic(expanded):
                return os.path.abspath(expanded)
            return source

        changes = {}
        if isinstance(self.dataset, str):
            changes["dataset"] = ",".join(map(absolute, self.dataset.split(",")))
        if self.tokenizer not in KINDS:
            changes["tokenizer"] = absolute(self.tokenizer)
        for name in ("from_lm", "embeddings"):
            if getattr(self, name, None):
                changes[name] = absolute(getattr(self, name))
        return self.replace(**changes)


def parse_overrides(items):
    """`FIELD=VALUE` texts (the benchmarks' `--set`, minGPT-style overrides)
    as a dict of config fields. VALUE is read as JSON (`1e-3`, `true`,
    `null`, `"bpe"`), and as a plain string when it is not JSON
    (`dataset=sms_spam`)."""
    overrides = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise InvalidArgumentError(
                f"Expected an override as FIELD=VALUE, such as epochs=1. Received: "
                f"{item!r}"
            )
        try:
            overrides[name] = json.loads(text)
        except ValueError:
            overrides[name] = text
    return overrides


def as_flags(overrides):
    """Config overrides as `textgru train` flags (`--batch-size 128`,
    `--no-stateful`)."""
    flags = []
    for name, value in overrides.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        else:
            flags += [flag, "none" if value is None else str(value)]
    return flags
