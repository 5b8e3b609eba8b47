"""The pieces every config section is made of.

A run's config is one flat dataclass (`textgru.training.TrainConfig` and a
subclass per task) composed of sections, each defined next to the code that
uses it: `data.DataConfig`, `data.TokenizerConfig`, `models.ModelConfig`,
`training.OptimizationConfig`, `training.RunConfig`,
`training.distribute.DistributeConfig`. Field names are the flags of
`textgru train` (`batch_size` -> `--batch-size`) and the keys of a run's
`config.json`.
"""

import dataclasses
import math
import types
import typing

from textgru.errors import InvalidArgumentError

_NEW = object()


def field(
    default,
    help,
    *,
    shown=None,
    architecture=False,
    resume_free=False,
    launch=False,
    before=_NEW,
):
    """A config field with its `--help` text and what it means for a run.

    Args:
        default: the default value.
        help: the flag's help text.
        shown: what `--help` says the default is, when the value itself does
            not say it (`None` standing for "the column named label").
        architecture: the field shapes the tokenizer or network, so a model
            made from another (`--from-lm`) takes the other's value.
        resume_free: `--resume` may change it (how long to train, logging).
        launch: where one process of a run was started; not recorded.
        before: the value that a run recorded before the field existed had
            (when it differs from `default`); its config reads it so.
    """
    facts = {"help": help, "shown": default if shown is None else shown}
    facts["architecture"] = architecture
    facts |= {"resume_free": resume_free or launch, "launch": launch}
    if before is not _NEW:
        facts["before"] = before
    return dataclasses.field(default=default, metadata=facts)


def before_fields(config_class):
    """What a run recorded before each field existed had: `{name: value}`,
    the field's `before` value where it has one, else its default."""
    return {
        f.name: f.metadata.get("before", f.default)
        for f in dataclasses.fields(config_class)
    }


def names_where(config_class, fact):
    """The names of the fields of `config_class` that have `fact`."""
    return tuple(f.name for f in dataclasses.fields(config_class) if f.metadata[fact])


@dataclasses.dataclass
class Section:
    """The base of every config section: each section's `__post_init__`
    checks its own fields, then calls `super().__post_init__()`."""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            check_type(item.name, value, hints[item.name])
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidArgumentError(
                    f"Expected `{item.name}` to be a finite number. Received: "
                    f"{item.name}={value}"
                )


def check_type(name, value, hint):
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
