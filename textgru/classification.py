"""Text classification end to end: train a run, evaluate it, predict with it.

run = train_classifier(ClassifierConfig(dataset="rotten_tomatoes", out="runs/rt"))
run.metrics["test"]["accuracy"]
ClassifierRun.load("runs/rt").predict(["A gem.", "A mess."])
"""

import dataclasses
from pathlib import Path

import datasets
import keras
import numpy as np

from textgru import distribute, plots, transfer
from textgru import run as run_files
from textgru.data import (
    Tokenizer,
    classification_dataset,
    load_dataset,
)
from textgru.errors import DatasetError, InvalidArgumentError, RunIntegrityError
from textgru.evaluation import classification_report
from textgru.inspect import gate_activations
from textgru.models import build_classifier, classifier_from_lm
from textgru.training import (
    ClassifierConfig,
    TransferConfig,
    close_run,
    compile_classifier,
    fit_run,
    open_run,
    total_steps,
)

TASK = "classify"
# The run's gates.png shows the first few test texts of a readable length.
GATE_EXAMPLES = 3
GATE_TOKENS = (6, 24)


@dataclasses.dataclass
class ClassifierRun(run_files.RunDirectory):
    """A trained classifier with its tokenizer, labels, config and metrics."""

    path: Path
    model: keras.Model
    tokenizer: Tokenizer
    label_names: list
    config: ClassifierConfig
    metrics: dict

    @classmethod
    def load(cls, path, allow_partial=False):
        """Read a finished run directory written by `train_classifier` (with
        `allow_partial`, also an unfinished `<out>.partial` one, unchecked)."""
        info, model, tokenizer, metrics = run_files.load(path, TASK, allow_partial)
        outputs = model.output_shape[-1]
        labels = info.get("label_names")
        if not isinstance(labels, list) or outputs != (
            1 if len(labels) == 2 else len(labels)
        ):
            raise RunIntegrityError(
                f"{path}/config.json names {labels!r} as labels, which does not fit "
                f"the model's {outputs} output(s); it is not this run's config.json"
            )
        return cls(
            path=Path(path),
            model=model,
            tokenizer=tokenizer,
            label_names=list(info["label_names"]),
            config=config_from_dict(info["config"]),
            metrics=metrics,
        )

    def predict_proba(self, texts, batch_size=None):
        """Class probabilities, `(len(texts), num_classes)`."""
        return predict_proba(
            self.model,
            self.tokenizer,
            texts,
            batch_size=batch_size or self.config.batch_size,
            max_length=self.config.max_length,
        )

    def predict(self, texts, batch_size=None):
        """One dict per text: `label`, its `probability`, and all `probabilities`."""
        texts = list(texts)
        probabilities = self.predict_proba(texts, batch_size)
        results = []
        for text, row in zip(texts, probabilities, strict=True):
            best = int(np.argmax(row))
            results.append(
                {
                    "text": text,
                    "label": self.label_names[best],
                    "probability": float(row[best]),
                    "probabilities": dict(
                        zip(self.label_names, map(float, row), strict=True)
                    ),
                }
            )
        return results

    def evaluate(self, dataset=None, split=None):
        """A `classification_report` on a split of the run's dataset (default
        `"test"`), or on another labelled `dataset` (a source for
        `load_dataset`, all of its rows by default) whose label names are
        among the run's. `split` is `"train"`, `"validation"`, `"test"` or
        `"all"`."""
        config = self.config
        if dataset is None:
            data = load_dataset(
                config.dataset,
                text_column=config.text_column,
                label_column=config.label_column,
                split_seed=config.split_seed,
            )
        else:
            data = load_dataset(dataset, label_column="label")
        split = split or ("test" if dataset is None else "all")
        if split == "all":
            rows = datasets.concatenate_datasets(list(data.values()))
        elif split in data:
            rows = data[split]
        else:
            raise InvalidArgumentError(
                "Expected `split` to be train, validation, test or all. Received: "
                f"{split!r}"
            )
        labels = _labels_as(rows, self.label_names)
        probabilities = self.predict_proba(rows["text"])
        return classification_report(labels, probabilities.argmax(1), self.label_names)


def config_from_dict(values):
    """The `ClassifierConfig`, or for a run from a language model the
    `TransferConfig`, that a run's config.json records."""
    kind = TransferConfig if values.get("from_lm") else ClassifierConfig
    return kind.from_dict(values)


def predict_proba(model, tokenizer, texts, *, batch_size=64, max_length=128):
    """Class probabilities of `texts` from a classifier made by `build_classifier`.

    Texts are tokenized, cut to `max_length` and padded with 0 per batch of
    `batch_size`, in order. A binary model's single sigmoid output p becomes
    the two columns (1 - p, p).
    """
    texts = list(texts)
    if not texts:
        raise InvalidArgumentError(
            "Expected at least one text to predict. Received none"
        )
    ids = [row[:max_length] for row in tokenizer.encode_batch(texts)]
    outputs = []
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        width = max(1, max(len(row) for row in batch))
        padded = np.zeros((len(batch), width), dtype=np.int32)
        for i, row in enumerate(batch):
            padded[i, : len(row)] = row
        outputs.append(np.asarray(model.predict_on_batch(padded)))
    probabilities = np.concatenate(outputs).astype(np.float64)
    if not np.isfinite(probabilities).all():
        raise RunIntegrityError(
            "The model gives NaN or infinite probabilities: its weights are broken "
            "(a training run that diverged?); train it again"
        )
    if probabilities.shape[1] == 1:
        probabilities = np.concatenate([1.0 - probabilities, probabilities], axis=1)
    return probabilities


def _labels_as(split, names):
    """The split's labels as ids into `names` (mapped by label name)."""
    own = split.features["label"].names
    unknown = sorted(set(own) - set(names))
    if unknown:
        raise DatasetError(
            f"The dataset has label(s) {', '.join(unknown)} that the run does not "
            f"know (run labels: {', '.join(names)})"
        )
    index = np.array([names.index(n) for n in own])
    return index[np.asarray(split["label"], dtype=np.int64)]


@run_files.guarded
def train_classifier(config=None, *, callbacks=(), verbose="auto"):
    """Train a classifier as `config` says and write its run directory.

    Args:
        config: a `ClassifierConfig` (default: the recommended sentiment
            recipe), or a `TransferConfig` to start from a language model
            (see `textgru.transfer`).
        callbacks: extra Keras callbacks for `fit`.
        verbose: Keras `fit` verbosity ("auto" shows the progress bar).

    Returns:
        A `ClassifierRun` for the finished run directory `config.out`, holding
        the trained model (the best epoch on `config.monitor`). Of a
        multi-host run (`config.distribute`), only process 0 writes the run
        and returns it; the other processes return None.
    """
    config = (config or ClassifierConfig()).with_absolute_paths()
    distribution = distribute.setup(config)
    if distribution.num_processes == 1:
        # Refuse a run that cannot start before loading anything (several
        # processes check inside `open_run`, where the chief's error reaches
        # them all).
        run_files.check_start(
            config.out, resume=config.resume, overwrite=config.overwrite
        )
    keras.utils.set_random_seed(config.seed)
    language_model = None
    if isinstance(config, TransferConfig):
        language_model = transfer.load_language_model(config.from_lm)
        config = transfer.inherit_architecture(config, language_model.config)
    data = load_dataset(
        config.dataset,
        text_column=config.text_column,
        label_column=config.label_column,
        split_seed=config.split_seed,
    )
    if "label" not in data["train"].column_names:
        raise DatasetError(
            f"{config.dataset} has no label column to classify by (columns: "
            f"{', '.join(data['train'].column_names)}); pass --label-column"
        )
    label_names = data["train"].features["label"].names
    for split in ("validation", "test"):
        if not len(data[split]):
            raise DatasetError(
                f"{config.dataset}: the {split} split is empty ({len(data['train'])} "
                f"training rows in {len(label_names)} classes; a split carved out of "
                "train takes its share of each class, rounded down); give more rows "
                f"per class, or a file with its own {split} split"
            )
    if len(label_names) < 2:
        raise DatasetError(
            f"{config.dataset}: the label column {config.label_column or 'label'!r} "
            f"has one class only ({', '.join(map(str, label_names))}); a "
            "classifier needs texts of at least 2 classes"
        )
    info = {"label_names": label_names}
    if language_model is not None:
        transfer.check_pretraining(language_model, config, data)
        info["from_lm"] = {
            "path": str(language_model.path.resolve()),
            "pretrained_on": transfer.pretrained_on(language_model),
        }
    work, resumed, tokenizer = open_run(
        config,
        TASK,
        data["train"],
        info,
        tokenizer=language_model and language_model.tokenizer,
        distribution=distribution,
    )

    def batches(split, shuffle):
        return distribution.shard(
            classification_dataset(
                data[split],
                tokenizer,
                batch_size=config.batch_size,
                max_length=config.max_length,
                shuffle=shuffle,
                seed=config.seed,
                bucket_by_length=config.bucket_by_length and shuffle,
                drop_remainder=distribution.distributed,
            )
        )

    train, validation = batches("train", True), batches("validation", False)
    if language_model is None:
        with distribution.scope():
            model = _build(config, tokenizer, label_names)
            steps = total_steps(config, int(train.cardinality()))
            compile_classifier(model, config, len(label_names), steps)
        model, seconds, history = fit_run(
            model, train, validation, config, work, callbacks, verbose, distribution
        )
    else:
        with distribution.scope():
            model = classifier_from_lm(
                language_model.model,
                len(label_names),
                pooling=config.pooling,
                dropout=config.dropout,
                embedding_dropout=config.embedding_dropout,
            )
        model, seconds, history, _ = transfer.fit_in_stages(
            model, train, validation, config, work, len(label_names), callbacks,
            verbose, distribution,
        )  # fmt: skip
    if model is None:  # another process of a distributed run: the chief reports
        distribution.finish(work)
        return None

    def report(split):
        probabilities = predict_proba(
            model,
            tokenizer,
            data[split]["text"],
            batch_size=config.batch_size,
            max_length=config.max_length,
        )
        return classification_report(
            data[split]["label"], probabilities.argmax(1), label_names
        )

    metrics = {
        "test": report("test"),
        "validation": report("validation"),
        "label_names": label_names,
        "num_parameters": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "resumed": resumed,
        "epochs_run": len(history),
        "split_sizes": {name: len(split) for name, split in data.items()},
    }
    figures = {
        "confusion_matrix.png": plots.confusion_matrix(
            metrics["test"]["confusion_matrix"],
            label_names,
            title=f"test accuracy {metrics['test']['accuracy']:.1%}",
        ),
        "gates.png": gate_figure(model, tokenizer, data["test"], label_names, config),
    }
    out = close_run(work, config, TASK, model, metrics, history, info, figures)
    distribution.finish(work)
    return ClassifierRun(out, model, tokenizer, label_names, config, metrics)


def _build(config, tokenizer, label_names):
    return build_classifier(
        tokenizer.vocab_size,
        len(label_names),
        embed_dim=config.embed_dim,
        units=config.units,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        pooling=config.pooling,
        dropout=config.dropout,
        embedding_dropout=config.embedding_dropout,
        recurrent_dropout=config.recurrent_dropout,
        reset_after=config.reset_after,
        gru_class=config.gru_class,
        cell=config.cell_class,
    )


def gate_figure(model, tokenizer, split, label_names, config):
    """The first gate of the first GRU's cell (the update gate of a GRU) over
    a few test texts, each titled with its label and the model's prediction."""
    low, high = GATE_TOKENS
    lengths = [len(ids) for ids in tokenizer.encode_batch(split["text"])]
    chosen = [i for i, n in enumerate(lengths) if low <= n <= high][:GATE_EXAMPLES]
    chosen = chosen or [0]
    texts = [split["text"][i] for i in chosen]
    probabilities = predict_proba(model, tokenizer, texts, max_length=config.max_length)
    titles = [
        f"true: {label_names[split['label'][i]]}, predicted: "
        f"{label_names[p.argmax()]} ({p.max():.2f})"
        for i, p in zip(chosen, probabilities, strict=True)
    ]
    activations = gate_activations(
        model, texts, tokenizer=tokenizer, max_length=config.max_length
    )
    return plots.gate_heatmap(activations, units=16, titles=titles)
