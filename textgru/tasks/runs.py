"""A finished run, read back: what every task's run class shares."""

import dataclasses
from pathlib import Path

import keras

from textgru.data import Tokenizer
from textgru.errors import InvalidArgumentError, RunIntegrityError
from textgru.training import run_directory


@dataclasses.dataclass
class TaskRun:
    """A trained model with its tokenizer, config and metrics, from its run
    folder `path`. Each task has a subclass (`ClassifierRun`,
    `LanguageModelRun`) with what it can do (`predict`, `generate`, ...);
    `load` is the one way every run is read (`load_run` reads any run)."""

    path: Path
    model: keras.Model
    tokenizer: Tokenizer
    config: object
    metrics: dict

    # The `Task` whose runs these are (set by the task).
    task = None

    @classmethod
    def made(cls, path, model, tokenizer, config, metrics, info):
        """A run from its parts (`info`: the facts of its config.json)."""
        return cls(Path(path), model, tokenizer, config, metrics)

    @classmethod
    def load(cls, path, allow_partial=False, trust_code=False):
        """Read a finished run directory of this task (with `allow_partial`,
        also an unfinished `<out>.partial` one, unchecked). A run saved
        before the model had a backbone is rebuilt with its weights.

        A run made with a cell of your own names the cell's module; loading
        imports it only if it is already imported (import it first), or with
        `trust_code=True`: a run folder from someone else can run no code
        otherwise."""
        info, model, tokenizer, metrics = run_directory.load(
            path, cls.task.name, allow_partial, trust_code
        )
        config = cls.task.config_from_dict(info["config"])
        if not hasattr(model, "backbone"):
            model = cls.task.upgrade(model, config, tokenizer, info, path)
        return cls.made(path, model, tokenizer, config, metrics, info)

    @property
    def history(self):
        """The run's `history.csv`: one dict per epoch (for `plots.training_curves`)."""
        return run_directory.read_history(self.path / "history.csv")

    @property
    def preprocessor(self):
        """How texts become this run's model input (`textgru.data.Preprocessor`)."""
        return self.task.preprocessor(self.config, self.tokenizer)


def recorded_labels(path, info, model, outputs_of):
    """The label names a run's config.json records, checked against its
    model: `outputs_of(number of labels)` must be the model's output width;
    anything else is a `RunIntegrityError`."""
    labels = info.get("label_names")
    outputs = model.output_shape[-1]
    if not isinstance(labels, list) or outputs != outputs_of(len(labels)):
        raise RunIntegrityError(
            f"{path}/config.json names {labels!r} as labels, which does not fit "
            f"the model's {outputs} output(s); it is not this run's config.json"
        )
    return list(labels)


def rows_of(data, split):
    """The rows of `data` (a train/validation/test `DatasetDict`) that a
    run's `evaluate` scores: one split, or `"all"` of them."""
    import datasets

    if split == "all":
        return datasets.concatenate_datasets(list(data.values()))
    if split in data:
        return data[split]
    raise InvalidArgumentError(
        f"Expected `split` to be train, validation, test or all. Received: {split!r}"
    )


# `textgru.load`: the one reader of any run (it lives with the run folders,
# so that `textgru.interpret` below the tasks reads runs by path too).
load_run = run_directory.load_run
