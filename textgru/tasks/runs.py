"""A finished run, read back: what every task's run class shares."""

import dataclasses
import os
from pathlib import Path

import keras

from textgru import _predictions
from textgru._status import say
from textgru.data import Tokenizer
from textgru.errors import InvalidArgumentError, RunError, RunIntegrityError
from textgru.interpret import gate_activations, gru_directions
from textgru.tasks import misclassified
from textgru.training import registry, run_directory


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
    # A Keras model answers one request of a server at a time.
    concurrent = False

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

    @property
    def head(self):
        """How this run's model outputs become its answers (a
        `textgru.heads.Head`, the same as its export's); None for a run
        that answers otherwise (a language model generates)."""
        return None

    @property
    def graph(self):
        """What its export's graph does (`Task.graph`): "outputs" for a run
        that answers texts through its `head`, "steps" for a language model."""
        return self.task.graph

    @property
    def task_name(self):
        return self.task.name

    def answers(self, texts, batch_size=None, top_k=None):
        """One JSON-ready dict per text (`head.answers`), as `POST /predict`
        and `predict --json` give them."""
        texts = list(texts)
        return self.head.answers(texts, self.outputs(texts, batch_size), top_k)

    @property
    def text_column(self):
        """The column it read its texts from."""
        return getattr(self.config, "text_column", None) or "text"

    def gate_activations(self, texts, layer=0, direction="forward"):
        """`textgru.interpret.gate_activations` of this run."""
        return gate_activations(self, texts, layer=layer, direction=direction)

    def update_gates(self, text):
        """The update gate of each GRU layer and direction after each token
        of one text, as an export's `update_gates` gives them: `{"text",
        "tokens", "layers": [{"layer", "direction", "update"}]}` from
        `textgru.interpret.gate_activations` (a cell without an update gate
        left out; none at all is an error)."""
        layers, tokens = [], None
        for index, (_, directions) in enumerate(gru_directions(self.model)):
            for direction in directions:
                found = gate_activations(self, text, layer=index, direction=direction)
                tokens = found.tokens
                if found.update is not None:
                    layers.append(
                        {
                            "layer": found.layer,
                            "direction": direction,
                            "update": found.update,
                        }
                    )
        if not layers:
            raise RunError(f"The cells of {self.path} have no update gate to show")
        return {"text": text, "tokens": tokens, "layers": layers}

    def evaluate(
        self, dataset=None, split=None, *, text_column=None, errors=None, **columns
    ):
        """This task's report (`Task.score`) on a split of the run's dataset
        (default `"test"`), or on every row of another `dataset` (a source
        for `load_dataset`) read as the run's own unless `text_column` or
        the task's `columns` (its `evaluate_flags`: `label_column`,
        `target_column`, `label_separator`) say otherwise. `split` is
        `"train"`, `"validation"`, `"test"` or `"all"`. With `errors` (a new
        `.csv` or `.jsonl` path), the texts the run gets wrong are written
        there, the worst first (`Task.errors`)."""
        task = self.task
        unknown = sorted(set(columns) - set(task.evaluate_flags))
        if unknown:
            raise InvalidArgumentError(
                f"Expected the options of a {task.name!r} run's evaluate "
                f"({', '.join(task.evaluate_flags) or 'none'}). Received: "
                f"{', '.join(unknown)}"
            )
        if errors is not None:
            errors = misclassified.check_target(errors)
        own = dataset is None
        config = self.config
        if not own:
            changes = {"text_column": text_column, **columns}
            config = config.replace(
                dataset=os.fspath(dataset)
                if isinstance(dataset, os.PathLike)
                else dataset,
                **{name: value for name, value in changes.items() if value is not None},
            )
        rows = rows_of(task.load_data(config), split or ("test" if own else "all"))
        if not own:
            task.check_scored(self, rows, dataset)
        truth = task.truth(self, rows)
        say(f"scoring {len(rows):,} texts")
        outputs = self.outputs(rows["text"])
        if errors is not None:
            found, names, what = task.errors(self, rows["text"], truth, outputs)
            misclassified.write(errors, found, names)
            say(f"wrote {what} to {errors}")
        return task.score(self, truth, outputs)

    def outputs(self, texts, batch_size=None):
        """The model's outputs `(len(texts), width)` (float64) for `texts`,
        batched by length (`batch_size` at a time, the run's by default)."""
        return _predictions.outputs(
            self.model.predict_on_batch,
            self.preprocessor,
            texts,
            batch_size or self.config.batch_size,
        )


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


# The one reader of any run by path (`textgru.training.registry.load`;
# `textgru.load` reads an export too).
load_run = registry.load
