"""Text classification end to end: train a run, evaluate it, predict with it.

run = train_classifier(ClassifierConfig(dataset="rotten_tomatoes", out="runs/rt"))
run.metrics["test"]["accuracy"]
ClassifierRun.load("runs/rt").predict(["A gem.", "A mess."])
"""

import dataclasses
from pathlib import Path

import numpy as np

from textgru import _predictions, _validation
from textgru._config import field
from textgru._status import say
from textgru.data import (
    Preprocessor,
    classification_dataset,
    load_dataset,
    target_dataset,
)
from textgru.data.config import describe_source
from textgru.errors import DatasetError, InvalidArgumentError, RunIntegrityError
from textgru.heads import Labels
from textgru.interpret import plots
from textgru.models import build_classifier, classifier_from_lm
from textgru.models.adversarial import check_backend
from textgru.tasks import (
    calibration,
    distillation,
    gate_examples,
    imbalance,
    misclassified,
)
from textgru.tasks.distillation import DistillConfig
from textgru.tasks.metrics import classification_report, probability_report
from textgru.tasks.reading import ReadingConfig, check_held_out
from textgru.tasks.runs import TaskRun, recorded_labels
from textgru.tasks.task import Task
from textgru.tasks.word_vectors import WordVectorsConfig
from textgru.training import TrainConfig
from textgru.training.losses import (
    DistillationAccuracy,
    DistillationLoss,
    classification_loss,
)
from textgru.training.optimizers import make_optimizer


@dataclasses.dataclass
class ClassifierConfig(ReadingConfig, WordVectorsConfig, DistillConfig, TrainConfig):
    """A `TrainConfig` for text classification (`textgru train classify`);
    its defaults are the recommended sentiment recipe on `rotten_tomatoes`."""

    MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")

    # A short run is much worse with the defaults: the cosine schedule takes
    # the rate to 0 over the run, and with adversarial training the first
    # epoch hardly moves (rotten_tomatoes, seed 0, test accuracy: 8 epochs
    # 77.6%; --epochs 2 61.8%, with --schedule constant 76.1%).
    epochs: int = field(
        8,
        "most epochs (early stopping may end sooner); the cosine schedule decays "
        "the rate to 0 over them, so for a run of 1-3 epochs add --schedule "
        "constant (2 epochs on rotten_tomatoes: 76%% test accuracy, against 62%% "
        "with cosine)",
        resume_free=True,
    )
    label_column: str | None = field(
        None, "column with the labels", shown="the column named label"
    )
    adversarial: float = field(
        0.2,
        "adversarial training: also fit each text with its embeddings moved up "
        "the loss gradient by this fraction of their norm (Miyato et al. 2017; "
        "0 is off; TensorFlow or JAX; a step costs two)",
        before=0.0,
    )
    label_smoothing: float = field(0.0, "label smoothing of the loss")
    class_weight: str | dict = field(
        "none",
        "weight of each class in the training loss: none, balanced (n / (classes "
        "x count), as scikit-learn), or a JSON object of label -> weight such as "
        "'{\"spam\": 4}' (labels left out weigh 1)",
    )
    threshold: float | None = field(
        None,
        "two classes: predict the second label when its probability is at least "
        "this, in (0, 1) (recorded; used by predict, evaluate and exports)",
        shown="0.5",
        resume_free=True,
    )
    threshold_metric: str | None = field(
        None,
        "two classes: tune the threshold on the validation split for f1 (of the "
        "positive label), macro_f1, balanced_accuracy or accuracy (recorded; used "
        "by predict, evaluate and exports)",
        shown="none",
        resume_free=True,
    )
    positive_label: str | None = field(
        None,
        "two classes: the label that f1 (--threshold-metric f1) and PR-AUC are "
        "about, usually the rare one you look for",
        shown="the second in sorted order",
        resume_free=True,
    )
    calibrate: bool = field(
        False,
        "fit a temperature that divides the logits on the validation split "
        "(temperature scaling), so the probabilities say how often the model is "
        "right; recorded and applied by predict, evaluate and exports",
        resume_free=True,
    )

    def __post_init__(self):
        super().__post_init__()
        _validation.rate("label_smoothing", self.label_smoothing)
        _validation.non_negative("adversarial", self.adversarial)
        self.class_weight = imbalance.check_class_weight(self.class_weight)
        if self.teacher and self.distribute == "multi-host":
            raise InvalidArgumentError(
                "A teacher is fine-tuned in one process; distil on one host "
                "(--distribute none or mirrored), or drop --teacher"
            )
        if self.teacher and (self.class_weight != "none" or self.label_smoothing):
            raise InvalidArgumentError(
                "With a teacher the loss is its soft labels mixed with the true ones "
                "(--distill-alpha); drop --class-weight and --label-smoothing, which "
                "that loss does not take"
            )
        if self.threshold is not None:
            _predictions.check_threshold(self.threshold)
        if self.threshold_metric is not None:
            _validation.one_of(
                "threshold_metric", self.threshold_metric, imbalance.THRESHOLD_METRICS
            )
            if self.threshold is not None:
                raise InvalidArgumentError(
                    "Give a fixed `threshold` or a `threshold_metric` to tune it on "
                    f"validation, not both. Received: threshold={self.threshold}, "
                    f"threshold_metric={self.threshold_metric!r}"
                )


@dataclasses.dataclass
class ClassifierRun(TaskRun):
    """A trained classifier with its tokenizer, config, metrics and labels."""

    config: ClassifierConfig
    label_names: list = dataclasses.field(default_factory=list)
    # Of a binary run, the decision threshold on the second label's
    # probability (`threshold` or `threshold_metric`); None: the likelier label.
    threshold: float | None = None
    # The temperature fitted on validation (`calibrate`); None: none.
    temperature: float | None = None
    # The word vectors the embedding started from (`embeddings`): their
    # file or name, checksum, coverage and scale; None: none.
    word_vectors: dict | None = None
    # The teacher distilled into the run (`teacher`): its accuracies,
    # settings and cache key; None: none.
    teacher: dict | None = None

    @classmethod
    def made(cls, path, model, tokenizer, config, metrics, info):
        # One sigmoid output for two labels, a softmax over more.
        labels = recorded_labels(path, info, model, lambda n: 1 if n == 2 else n)
        return cls(
            path=Path(path),
            model=model,
            tokenizer=tokenizer,
            config=config,
            metrics=metrics,
            label_names=labels,
            threshold=_recorded(
                path, info, "threshold", _binary_threshold(len(labels))
            ),
            temperature=_recorded(
                path, info, "temperature", _predictions.check_temperature
            ),
            word_vectors=info.get("embeddings"),
            teacher=info.get("teacher"),
        )

    @property
    def head(self):
        """Its labels, threshold and temperature (`textgru.heads.Labels`)."""
        return Labels(self.label_names, self.threshold, self.temperature)

    def predict_proba(self, texts, batch_size=None):
        """Class probabilities, `(len(texts), num_classes)` (with the run's
        calibration `temperature` applied, if it has one)."""
        return self.head.probabilities(self.outputs(texts, batch_size))

    def predict(self, texts, batch_size=None, top_k=None):
        """One dict per text: `label`, its `probability`, and all
        `probabilities` (the label is the likelier one, or of a binary run
        with a `threshold`, the second where its probability reaches it);
        with `top_k`, also the `top` k labels with their probabilities."""
        texts = list(texts)
        return self.head.answers(texts, self.outputs(texts, batch_size), top_k)

    @property
    def positive(self):
        """Of two labels, the index of the positive one (`positive_label`:
        what f1 and PR-AUC are about), the second by default."""
        chosen = self.config.positive_label
        names = list(map(str, self.label_names))
        return names.index(chosen) if chosen in names else 1

    def decide(self, probabilities):
        """The label id of each row of `probabilities` (the run's threshold
        applied)."""
        return _predictions.decide(probabilities, self.threshold)

    def report(self, labels, probabilities, decided=None):
        """The report of `evaluate` from true label ids and the run's
        probabilities (and decisions, if already made)."""
        if decided is None:
            decided = self.decide(probabilities)
        report = {
            **classification_report(labels, decided, self.label_names),
            **probability_report(
                labels, probabilities, self.label_names, self.positive
            ),
        }
        if self.threshold is not None:
            report["threshold"] = self.threshold
        if self.temperature is not None:
            report["temperature"] = self.temperature
        return report


def predict_proba(model, preprocessor, texts, *, batch_size=64, max_length=None):
    """Class probabilities of `texts` from a `TextClassifier`.

    Texts go through `preprocessor` (a `textgru.data.Preprocessor`: tokenized,
    cut, padded with 0 per batch of `batch_size`, batched by length so that
    little of a batch is padding); the rows come back in the texts' order. A bare
    `Tokenizer` is taken as `Preprocessor(tokenizer, max_length)`. A binary
    model's single sigmoid output p becomes the two columns (1 - p, p).
    """
    if not isinstance(preprocessor, Preprocessor):
        preprocessor = Preprocessor(preprocessor, max_length)
    return _predictions.probabilities(
        model.predict_on_batch, preprocessor, texts, batch_size
    )


def _recorded(path, info, key, check):
    """The value a run's config.json records under `key` (`{"value": ...}`,
    checked by `check`), or None if it records none."""
    recorded = info.get(key)
    if recorded is None:
        return None
    try:
        return check(recorded["value"])
    except (TypeError, KeyError, ValueError) as error:
        raise RunIntegrityError(
            f"{path}/config.json records a damaged {key} ({recorded!r}: {error}); "
            "it is not this run's config.json"
        ) from None


def _binary_threshold(labels):
    """A check of a recorded threshold for a run of `labels` labels."""

    def check(value):
        if labels != 2:
            raise ValueError(f"a threshold for {labels} labels")
        return _predictions.check_threshold(value)

    return check


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


class ClassificationTask(Task):
    """Text classification: a `TextClassifier` on labelled texts."""

    name = "classify"
    help = "text classification (sentiment, topics, spam, ...)"
    description = (
        "Train a GRU text classifier. The defaults are the recommended sentiment "
        "recipe on rotten_tomatoes. With --from-lm RUN_DIR the classifier starts "
        "from a language model (textgru.tasks.TransferConfig)."
    )
    config_class = ClassifierConfig
    run_class = ClassifierRun
    report_files = ("confusion_matrix.png", "calibration.png", "gates.png")
    evaluate_flags = {
        "label_column": "the column with the labels (default: the run's own, "
        "usually label)",
    }

    def load_data(self, config):
        # The label column is required: a file without it is refused with
        # its own columns listed.
        return load_dataset(
            config.data_source(),
            text_column=config.text_column,
            label_column=config.label_column or "label",
            split_seed=config.split_seed,
        )

    def info(self, config, data, parent):
        source = describe_source(config.dataset)
        label_names = data["train"].features["label"].names
        check_held_out(
            data,
            source,
            why=f" in {len(label_names)} classes; a split carved out of train takes "
            "its share of each class, rounded down",
            more="more rows per class",
        )
        if len(label_names) < 2:
            raise DatasetError(
                f"{source}: the label column "
                f"{config.label_column or 'label'!r} has one class only "
                f"({', '.join(map(str, label_names))}); a classifier needs texts of "
                "at least 2 classes"
            )
        if len(label_names) != 2 and (
            config.threshold is not None
            or config.threshold_metric
            or config.positive_label is not None
        ):
            raise DatasetError(
                f"{source}: a decision threshold (--threshold, --threshold-metric) "
                f"or a --positive-label is for two classes; this dataset has "
                f"{len(label_names)} ({', '.join(map(str, label_names))})"
            )
        if config.positive_label is not None and (
            config.positive_label not in map(str, label_names)
        ):
            raise DatasetError(
                f"{source}: --positive-label {config.positive_label} is not one of its "
                f"labels ({', '.join(map(str, label_names))})"
            )
        info = {"label_names": label_names}
        weights = self.class_weights(config, data["train"])
        if weights is not None:
            info["class_weights"] = {
                str(name): round(float(w), 6)
                for name, w in zip(label_names, weights, strict=True)
            }
        return info

    def class_weights(self, config, train):
        """The loss weight of each class (by id), or None (`class_weight`)."""
        return imbalance.class_weights(
            config.class_weight, train.features["label"].names, train["label"]
        )

    def preprocessor(self, config, tokenizer):
        return Preprocessor(tokenizer, max_length=config.max_length)

    def training_rows(self, config, data, info):
        if not config.teacher:
            return data["train"]
        return distillation.training_rows(config, data, info["label_names"], info)

    def batches(self, config, split, tokenizer, *, training, drop_remainder):
        options = config.batch_options(training=training, drop_remainder=drop_remainder)
        if config.teacher:  # the targets of DistillationLoss
            targets = distillation.targets(split, config)
            return target_dataset(split, tokenizer, targets, **options)
        return classification_dataset(
            split,
            tokenizer,
            **options,
            class_weights=self.class_weights(config, split) if training else None,
        )

    def build_model(self, config, tokenizer, info, parent=None):
        num_classes = len(info["label_names"])
        head = {"pooling": config.pooling, "adversarial": config.adversarial}
        if parent is not None:  # the language model's sizes and GRUs
            return classifier_from_lm(
                parent.model,
                num_classes,
                dropout=config.dropout,
                embedding_dropout=config.embedding_dropout,
                word_dropout=config.word_dropout,
                **head,
            )
        return build_classifier(
            tokenizer.vocab_size, num_classes, **head, **config.backbone_options()
        )

    def compile(self, model, config, steps, layer_factors=None):
        check_backend(model.adversarial)
        if config.teacher:
            loss = DistillationLoss(model.num_classes, config.distill_temperature)
            metrics = [DistillationAccuracy(model.num_classes)]
        else:
            loss = classification_loss(model.num_classes, config.label_smoothing)
            metrics = ["accuracy"]
        model.compile(
            optimizer=make_optimizer(config, steps, layer_factors),
            loss=loss,
            metrics=metrics,
        )
        return model

    def tune(self, run, data):
        config = run.config
        tuned = {}
        split = data["validation"]
        # The validation split is predicted once, for both fits.
        raw = None
        if config.calibrate or config.threshold_metric:
            raw = predict_proba(
                run.model, run.preprocessor, split["text"], batch_size=config.batch_size
            )
        if config.calibrate:
            value, before, after = calibration.fit_temperature(split["label"], raw)
            say(
                f"temperature {value:.3f} (validation negative log-likelihood "
                f"{before:.4f} -> {after:.4f})"
            )
            tuned["temperature"] = {
                "value": value,
                "validation_nll": [before, after],
            }
            run = dataclasses.replace(run, temperature=value)
        if config.threshold is not None:
            tuned["threshold"] = {"value": config.threshold}
        elif config.threshold_metric is not None:
            # On the probabilities predict gives: calibrated, if the run is;
            # tuned for the positive label (of the first: on its probability,
            # then as the threshold on the second's that decides the same).
            chosen = run.positive
            scores = _predictions.calibrated(raw, run.temperature)[:, chosen]
            labels = np.asarray(split["label"]) == chosen
            value, score = imbalance.tune_threshold(
                labels, scores, config.threshold_metric
            )
            if chosen == 0:
                value = 1.0 - value
            say(
                f"decision threshold {value:.3f} (validation "
                f"{config.threshold_metric} {score:.4f})"
            )
            tuned["threshold"] = {
                "value": value,
                "metric": config.threshold_metric,
                "validation_score": score,
            }
        return tuned

    def metrics(self, run, data):
        def report(split):
            probabilities = run.predict_proba(data[split]["text"])
            return run.report(data[split]["label"], probabilities)

        metrics = {
            "test": report("test"),
            "validation": report("validation"),
            "label_names": run.label_names,
        }
        warn_if_one_class(metrics["validation"], run.label_names)
        if run.teacher:
            metrics["teacher"] = distillation.teacher_metrics(run.teacher)
        return metrics

    def reports(self, run, data):
        test = run.metrics["test"]
        return {
            "confusion_matrix.png": plots.confusion_matrix(
                test["confusion_matrix"],
                run.label_names,
                title=f"test accuracy {test['accuracy']:.1%}",
            ),
            "calibration.png": plots.reliability_diagram(
                test["reliability"],
                title=f"test: expected calibration error {test['ece']:.3f}",
            ),
            "gates.png": gate_figure(run, data["test"]),
        }

    def truth(self, run, rows):
        return _labels_as(rows, run.label_names)

    def score(self, run, truth, outputs):
        probabilities = run.head.probabilities(outputs)
        return run.report(truth, probabilities, run.decide(probabilities))

    def errors(self, run, texts, truth, outputs):
        probabilities = run.head.probabilities(outputs)
        wrong = misclassified.misclassified(
            texts, truth, run.decide(probabilities), probabilities, run.label_names
        )
        columns = misclassified.classifier_columns(run.label_names)
        return wrong, columns, f"the {len(wrong):,} texts the run gets wrong"

    def report_text(self, report):
        """A classification report as a few lines of text."""
        names = report["label_names"]
        width = max(10, *map(len, map(str, names)))
        threshold = report.get("threshold")
        decided = (
            f" ({names[1]} where its probability >= {threshold:.3f})"
            if threshold is not None
            else ""
        )
        lines = [
            f"{report['num_examples']} texts: accuracy {report['accuracy']:.4f}, "
            f"macro-F1 {report['macro_f1']:.4f}{decided}",
            _probability_line(report),
            "",
            f"{'label':<{width}}  precision  recall      f1  support",
        ]
        for name in names:
            row = report["per_class"][str(name)]
            lines.append(
                f"{name!s:<{width}}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  "
                f"{row['f1']:>6.4f}  {row['support']:>7}"
            )
        lines += ["", "confusion matrix (rows: true label, columns: predicted)"]
        lines.append(" " * width + "  " + "  ".join(f"{n!s:>8}" for n in names))
        for name, counts in zip(names, report["confusion_matrix"], strict=True):
            lines.append(
                f"{name!s:<{width}}  " + "  ".join(f"{count:>8}" for count in counts)
            )
        return "\n".join(lines)

    def summary(self, run):
        test = run.metrics["test"]
        teacher = (
            f" (the teacher's: {run.teacher['test_accuracy']:.4f})"
            if run.teacher
            else ""
        )
        return (
            f"test accuracy {test['accuracy']:.4f}{teacher}, macro-F1 "
            f"{test['macro_f1']:.4f} ({test['num_examples']} texts); run written to "
            f"{run.path}"
        )


def warn_if_one_class(report, names):
    """Say so in one line when the run gives every validation text the same
    label: it has learned no more than the most common class, which its
    accuracy alone does not show."""
    predicted = np.asarray(report["confusion_matrix"]).sum(axis=0)
    if np.count_nonzero(predicted) == 1:
        label = names[int(np.argmax(predicted))]
        say(
            f"warning: the model predicts {label} for all {int(predicted.sum()):,} "
            f"validation texts (accuracy {report['accuracy']:.1%} is the share of "
            f"{label}): it has not learned the task; try a lower --learning-rate, "
            "more --epochs, or --adversarial 0"
        )


def gate_figure(run, split):
    """The run's gates.png over a few test texts, each titled with its label
    and the model's prediction (`textgru.tasks.gate_examples`)."""
    names = run.label_names

    def captions(chosen):
        probabilities = run.predict_proba([split["text"][i] for i in chosen])
        return [
            f"true: {names[split['label'][i]]}, predicted: {names[best]} "
            f"({p[best]:.2f})"
            for i, p, best in zip(
                chosen, probabilities, run.decide(probabilities), strict=True
            )
        ]

    return gate_examples.gate_figure(run, split["text"], captions)


CLASSIFY = ClassificationTask()


def train_classifier(config=None, *, callbacks=(), verbose="auto"):
    """Train a classifier as `config` says and write its run directory.

    Args:
        config: a `ClassifierConfig` (default: the recommended sentiment
            recipe), or a `TransferConfig` to start from a language model
            (see `textgru.tasks.transfer`).
        callbacks: extra Keras callbacks for `fit`.
        verbose: Keras `fit` verbosity ("auto" shows the progress bar).

    Returns:
        A `ClassifierRun` for the finished run directory `config.out`, holding
        the trained model (the best epoch on `config.monitor`). Of a
        multi-host run (`config.distribute`), only process 0 writes the run
        and returns it; the other processes return None.
    """
    config = config or ClassifierConfig()
    return Task.for_config(config).train(config, callbacks=callbacks, verbose=verbose)


def _probability_line(report):
    """The probabilities' measures of a report, in one line."""
    parts = []
    if report.get("roc_auc") is not None:
        parts.append(f"ROC-AUC {report['roc_auc']:.4f}")
    if report.get("pr_auc") is not None:
        parts.append(f"PR-AUC {report['pr_auc']:.4f} ({report['positive_label']})")
    parts.append(f"expected calibration error {report['ece']:.4f}")
    if report.get("temperature") is not None:
        parts.append(f"temperature {report['temperature']:.3f}")
    return ", ".join(parts)
