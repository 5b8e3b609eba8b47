"""Multi-label classification: any number of labels per text (topics, tags),
end to end.

run = train_multi_label(MultiLabelConfig(dataset="tags.csv", out="runs/tags"))
run.metrics["test"]["micro_f1"]
MultiLabelRun.load("runs/tags").predict(["The match ended in a row over tax."])

A sigmoid per label, trained with binary cross-entropy; each label's
decision threshold is tuned on the validation split (`threshold_metric`)
and recorded in the run, so `predict` and `evaluate` decide as it did.
"""

import dataclasses
from pathlib import Path

import datasets
import numpy as np

from textgru import _predictions
from textgru._config import field
from textgru._status import say
from textgru.data import MultiLabels, Preprocessor, load_dataset, multi_label_dataset
from textgru.data.config import describe_source
from textgru.data.pipeline import multi_hot
from textgru.errors import DatasetError, InvalidArgumentError, RunIntegrityError
from textgru.heads import LabelSets
from textgru.interpret import plots
from textgru.models import build_classifier
from textgru.tasks import gate_examples, imbalance, misclassified
from textgru.tasks.metrics import multi_label_report
from textgru.tasks.reading import ReadingConfig, check_held_out
from textgru.tasks.runs import TaskRun, recorded_labels
from textgru.tasks.task import Task
from textgru.tasks.word_vectors import WordVectorsConfig
from textgru.training import TrainConfig
from textgru.training.optimizers import make_optimizer

# Per-label measures a threshold can be tuned for (of that label alone, as
# a two-class decision; see `textgru.tasks.imbalance`).
THRESHOLD_METRICS = ("f1", "balanced_accuracy", "accuracy", "none")
# A label's threshold where validation cannot tune it.
DEFAULT_THRESHOLD = 0.5


@dataclasses.dataclass
class MultiLabelConfig(ReadingConfig, WordVectorsConfig, TrainConfig):
    """A `TrainConfig` for multi-label classification (`textgru train
    multilabel`): the classification recipe's network with a sigmoid per
    label. There is no built-in multi-label dataset: `dataset` is yours."""

    MONITORS = ("val_loss", "val_binary_accuracy", "loss", "binary_accuracy")

    dataset: str | datasets.Dataset | datasets.DatasetDict | None = field(
        None,
        "your labelled file or hub id (in Python also a datasets.Dataset or "
        "DatasetDict): a text column and a column of label lists",
        shown="none: required",
    )
    label_column: str = field(
        "labels",
        "column with each text's labels: a list (JSON lines, Parquet), a JSON "
        'list such as ["sports", "politics"], a string cut at --label-separator, '
        "or one label; [] for none",
    )
    label_separator: str | None = field(
        None,
        "what separates the labels in a string, such as '|'",
        shown="none: a string is a JSON list or one label",
    )
    threshold: float | None = field(
        None,
        "one decision threshold for every label, in (0, 1), instead of tuning "
        "them (recorded; used by predict and evaluate)",
        shown="tuned",
        resume_free=True,
    )
    threshold_metric: str = field(
        "f1",
        "tune each label's threshold on the validation split for that label's "
        "f1, balanced_accuracy or accuracy; none: 0.5 each (recorded; used by "
        "predict and evaluate)",
        resume_free=True,
    )
    epochs: int = field(
        8, "most epochs (early stopping may end sooner)", resume_free=True
    )
    out: str = field("runs/multilabel", "run directory to write")

    def __post_init__(self):
        super().__post_init__()
        if self.dataset is None:
            raise InvalidArgumentError(
                "A multi-label run needs your data: give --dataset FILE (a text "
                "column and a column of label lists; there is no built-in "
                "multi-label dataset)"
            )
        if self.threshold is not None:
            _predictions.check_threshold(self.threshold)
        if self.threshold_metric not in THRESHOLD_METRICS:
            raise InvalidArgumentError(
                "Expected `threshold_metric` to be one of "
                f"{', '.join(THRESHOLD_METRICS)}. Received: "
                f"threshold_metric={self.threshold_metric!r}"
            )
        if self.label_separator is not None and not self.label_separator.strip():
            raise InvalidArgumentError(
                "Expected `label_separator` to be a character such as '|' (not "
                f"blank). Received: label_separator={self.label_separator!r}"
            )

    def data_options(self):
        """`load_dataset`'s arguments for this run's labels."""
        return {
            "text_column": self.text_column,
            "target": MultiLabels(self.label_column, self.label_separator),
            "split_seed": self.split_seed,
        }


@dataclasses.dataclass
class MultiLabelRun(TaskRun):
    """A trained multi-label classifier with its tokenizer, config, metrics,
    labels and each label's decision threshold."""

    config: MultiLabelConfig
    label_names: list = dataclasses.field(default_factory=list)
    thresholds: np.ndarray = None

    @classmethod
    def made(cls, path, model, tokenizer, config, metrics, info):
        labels = recorded_labels(path, info, model, lambda n: n)  # one per label
        return cls(
            path=Path(path),
            model=model,
            tokenizer=tokenizer,
            config=config,
            metrics=metrics,
            label_names=labels,
            thresholds=_recorded_thresholds(path, info, labels),
        )

    @property
    def head(self):
        """Its labels and thresholds (`textgru.heads.LabelSets`)."""
        return LabelSets(
            self.label_names, list(self.thresholds), self.config.label_separator
        )

    def predict_proba(self, texts, batch_size=None):
        """Each label's probability, `(len(texts), num_labels)`, each on its own."""
        return self.outputs(texts, batch_size)

    def predict(self, texts, batch_size=None, top_k=None):
        """One dict per text: its `labels` (those whose probability reaches
        their threshold, likeliest first; possibly none) and every label's
        `probabilities`; with `top_k`, also the `top` k labels whatever
        their thresholds."""
        texts = list(texts)
        return self.head.answers(texts, self.outputs(texts, batch_size), top_k)

    def decide(self, probabilities):
        """Which labels each text has: a bool `(texts, labels)` array."""
        return _predictions.decide_labels(probabilities, self.thresholds)

    def report(self, labels, probabilities):
        """The report of `evaluate` from the true label sets (`(texts,
        labels)` of 0/1) and the run's probabilities, with each label's
        threshold."""
        report = multi_label_report(
            labels, self.decide(probabilities), self.label_names, probabilities
        )
        for name, value in zip(report["per_label"], self.thresholds, strict=True):
            report["per_label"][name]["threshold"] = float(value)
        return report


def _recorded_thresholds(path, info, labels):
    """The thresholds a run's config.json records (one per label, each in
    (0, 1)); a damaged record is a `RunIntegrityError`. Before they are
    tuned (a run in training), `DEFAULT_THRESHOLD` each."""
    recorded = info.get("thresholds")
    if recorded is None:
        return np.full(len(labels), DEFAULT_THRESHOLD)
    try:
        values = recorded["value"]
        if not isinstance(values, dict) or set(values) != set(labels):
            raise ValueError("not one threshold per label")
        return np.array(
            [_predictions.check_threshold(values[name]) for name in labels], np.float64
        )
    except (TypeError, KeyError, ValueError, InvalidArgumentError) as error:
        raise RunIntegrityError(
            f"{path}/config.json records damaged thresholds ({recorded!r}: {error}); "
            "it is not this run's config.json"
        ) from None


def _label_sets_as(split, names):
    """A split's label sets as a `(texts, labels)` 0/1 array over `names`
    (mapped by label name; one the run never saw is a `DatasetError`)."""
    own = split.features["labels"].feature.names
    unknown = sorted(set(own) - set(names))
    if unknown:
        raise DatasetError(
            f"The dataset has label(s) {', '.join(unknown)} that the run does not "
            f"know (run labels: {', '.join(names)})"
        )
    ours = multi_hot(split)
    table = np.zeros((len(split), len(names)), np.float32)
    table[:, [names.index(n) for n in own]] = ours
    return table


def tune_thresholds(labels, probabilities, metric):
    """One threshold per label column of `probabilities`, each tuned on
    that label's own decisions for `metric` (`imbalance.tune_threshold`),
    and the scores: `(thresholds, scores)`. A label that the texts never
    have, or always have, cannot be tuned: it keeps `DEFAULT_THRESHOLD`
    and its score is None."""
    labels = np.asarray(labels).astype(bool)
    thresholds, scores = [], []
    for column in range(labels.shape[1]):
        truth = labels[:, column]
        if metric == "none" or truth.all() or not truth.any():
            thresholds.append(DEFAULT_THRESHOLD)
            scores.append(None)
            continue
        value, score = imbalance.tune_threshold(
            truth.astype(np.int64), probabilities[:, column], metric
        )
        thresholds.append(value)
        scores.append(score)
    return np.array(thresholds), scores


class MultiLabelTask(Task):
    """Multi-label classification: a `TextClassifier` with a sigmoid per
    label on texts with any number of labels each."""

    name = "multilabel"
    help = "multi-label classification (any number of labels per text: tags, topics)"
    description = (
        "Train a GRU classifier whose texts have any number of labels each "
        "(tags, topics): a sigmoid per label, each label's decision threshold "
        "tuned on the validation split. Give your data with --dataset: a text "
        "column and a column of label lists (see --label-column)."
    )
    config_class = MultiLabelConfig
    run_class = MultiLabelRun
    report_files = ("label_scores.png", "gates.png")
    evaluate_flags = {
        "label_column": "the column with the labels (default: the run's own, "
        "usually labels)",
        "label_separator": "what separates the labels in a string of another "
        "--dataset (default: the run's own)",
    }

    def load_data(self, config):
        return load_dataset(config.data_source(), **config.data_options())

    def info(self, config, data, parent):
        source = describe_source(config.dataset)
        names = data["train"].features["labels"].feature.names
        check_held_out(data, source)
        if len(names) < 2:
            raise DatasetError(
                f"{source}: the label column {config.label_column!r} has one label "
                f"only ({names[0]}); a multi-label classifier needs at least 2 (for "
                "one label per text, yes or no, use `textgru train classify`)"
            )
        return {"label_names": names}

    def preprocessor(self, config, tokenizer):
        return Preprocessor(tokenizer, max_length=config.max_length)

    def batches(self, config, split, tokenizer, *, training, drop_remainder):
        return multi_label_dataset(
            split,
            tokenizer,
            **config.batch_options(training=training, drop_remainder=drop_remainder),
        )

    def build_model(self, config, tokenizer, info, parent=None):
        return build_classifier(
            tokenizer.vocab_size,
            len(info["label_names"]),
            pooling=config.pooling,
            multi_label=True,
            **config.backbone_options(),
        )

    def compile(self, model, config, steps, layer_factors=None):
        import keras

        model.compile(
            optimizer=make_optimizer(config, steps, layer_factors),
            loss=keras.losses.BinaryCrossentropy(),
            metrics=[keras.metrics.BinaryAccuracy(name="binary_accuracy")],
        )
        return model

    def tune(self, run, data):
        config = run.config
        names = run.label_names
        if config.threshold is not None:
            return {"thresholds": {"value": dict.fromkeys(names, config.threshold)}}
        split = data["validation"]
        thresholds, scores = tune_thresholds(
            multi_hot(split), run.predict_proba(split["text"]), config.threshold_metric
        )
        untuned = [
            name for name, score in zip(names, scores, strict=True) if score is None
        ]
        if config.threshold_metric != "none":
            say(
                f"decision thresholds tuned on validation for each label's "
                f"{config.threshold_metric}: "
                + ", ".join(
                    f"{name} {value:.2f}"
                    for name, value in zip(names, thresholds, strict=True)
                )
            )
            if untuned:
                say(
                    f"kept {DEFAULT_THRESHOLD} for {', '.join(untuned)}: the "
                    "validation split has no text with (or none without) it"
                )
        return {
            "thresholds": {
                "value": dict(zip(names, map(float, thresholds), strict=True)),
                "metric": config.threshold_metric,
                "validation_scores": dict(zip(names, scores, strict=True)),
            }
        }

    def metrics(self, run, data):
        def report(split):
            rows = data[split]
            return run.report(multi_hot(rows), run.predict_proba(rows["text"]))

        return {
            "test": report("test"),
            "validation": report("validation"),
            "label_names": run.label_names,
        }

    def reports(self, run, data):
        test = run.metrics["test"]
        split = data["test"]
        names = run.label_names

        def captions(chosen):
            texts = [split["text"][i] for i in chosen]
            return [
                "true: "
                + (" | ".join(names[j] for j in split["labels"][i]) or "none")
                + ", predicted: "
                + (" | ".join(result["labels"]) or "none")
                for i, result in zip(chosen, run.predict(texts), strict=True)
            ]

        return {
            "label_scores.png": plots.label_scores(
                test["per_label"],
                title=f"test: micro-F1 {test['micro_f1']:.3f}, macro-F1 "
                f"{test['macro_f1']:.3f}",
            ),
            "gates.png": gate_examples.gate_figure(run, split["text"], captions),
        }

    def truth(self, run, rows):
        return _label_sets_as(rows, run.label_names)

    def score(self, run, truth, outputs):
        return run.report(truth, outputs)

    def errors(self, run, texts, truth, outputs):
        wrong = misclassified.wrong_label_sets(
            texts, truth, run.decide(outputs), outputs, run.label_names
        )
        columns = misclassified.multi_label_columns(run.label_names)
        return wrong, columns, f"the {len(wrong):,} texts the run gets wrong"

    def report_text(self, report):
        """A multi-label report as a few lines of text."""
        names = report["label_names"]
        width = max(10, *map(len, names))
        auc = report.get("macro_roc_auc")
        lines = [
            f"{report['num_examples']} texts: micro-F1 {report['micro_f1']:.4f}, "
            f"macro-F1 {report['macro_f1']:.4f}, subset accuracy "
            f"{report['subset_accuracy']:.4f}, Hamming loss "
            f"{report['hamming_loss']:.4f}"
            + ("" if auc is None else f", macro ROC-AUC {auc:.4f}"),
            "",
            f"{'label':<{width}}  threshold  precision  recall      f1  support",
        ]
        for name in names:
            row = report["per_label"][name]
            lines.append(
                f"{name:<{width}}  {row['threshold']:>9.3f}  {row['precision']:>9.4f}  "
                f"{row['recall']:>6.4f}  {row['f1']:>6.4f}  {row['support']:>7}"
            )
        return "\n".join(lines)

    def summary(self, run):
        test = run.metrics["test"]
        return (
            f"test micro-F1 {test['micro_f1']:.4f}, macro-F1 {test['macro_f1']:.4f}, "
            f"subset accuracy {test['subset_accuracy']:.4f}, Hamming loss "
            f"{test['hamming_loss']:.4f} ({test['num_examples']} texts); run "
            f"written to {run.path}"
        )


MULTI_LABEL = MultiLabelTask()


def train_multi_label(config, *, callbacks=(), verbose="auto"):
    """Train a multi-label classifier as `config` (a `MultiLabelConfig`)
    says and write its run directory; returns the `MultiLabelRun` (of a
    multi-host run, on process 0 only)."""
    return MULTI_LABEL.train(config, callbacks=callbacks, verbose=verbose)
