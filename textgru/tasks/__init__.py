"""Tasks: one file per kind of run over one shared run lifecycle (`Task`).

classification     ClassifierConfig, train_classifier, ClassifierRun
language_modeling  LanguageModelConfig, train_language_model, LanguageModelRun
transfer           TransferConfig (a classifier from a language model),
                   the general pretrained language model
regression         RegressionConfig, train_regressor, RegressorRun
multilabel         MultiLabelConfig, train_multi_label, MultiLabelRun
"""

from textgru.tasks.classification import (
    CLASSIFY,
    ClassificationTask,
    ClassifierConfig,
    ClassifierRun,
    predict_proba,
    train_classifier,
)
from textgru.tasks.language_modeling import (
    LANGUAGE_MODEL,
    LanguageModelConfig,
    LanguageModelRun,
    LanguageModelTask,
    language_model_metrics,
    train_language_model,
)
from textgru.tasks.metrics import (
    classification_report,
    multi_label_report,
    regression_report,
)
from textgru.tasks.multilabel import (
    MULTI_LABEL,
    MultiLabelConfig,
    MultiLabelRun,
    MultiLabelTask,
    train_multi_label,
)
from textgru.tasks.regression import (
    REGRESS,
    RegressionConfig,
    RegressionTask,
    RegressorRun,
    train_regressor,
)
from textgru.tasks.runs import TaskRun, load_run
from textgru.tasks.task import Task
from textgru.tasks.transfer import (
    TRANSFER,
    TransferConfig,
    TransferTask,
    pretrained_language_model,
    resolve_from_lm,
)
from textgru.training.registry import TASKS, VARIANTS, register

# The registry: each line a task that `textgru train`, `load` and the
# exporter know (`textgru.training.registry`).
register(CLASSIFY)
register(LANGUAGE_MODEL)
register(REGRESS)
register(MULTI_LABEL)
register(TRANSFER, variant_of=CLASSIFY)

# `textgru.load(run_dir)`: any finished run, ready to use.
load = load_run

__all__ = [
    "CLASSIFY",
    "LANGUAGE_MODEL",
    "MULTI_LABEL",
    "REGRESS",
    "TASKS",
    "TRANSFER",
    "VARIANTS",
    "ClassificationTask",
    "ClassifierConfig",
    "ClassifierRun",
    "LanguageModelConfig",
    "LanguageModelRun",
    "LanguageModelTask",
    "MultiLabelConfig",
    "MultiLabelRun",
    "MultiLabelTask",
    "RegressionConfig",
    "RegressionTask",
    "RegressorRun",
    "Task",
    "TaskRun",
    "TransferConfig",
    "TransferTask",
    "classification_report",
    "language_model_metrics",
    "load",
    "load_run",
    "multi_label_report",
    "predict_proba",
    "register",
    "pretrained_language_model",
    "regression_report",
    "resolve_from_lm",
    "train_classifier",
    "train_language_model",
    "train_multi_label",
    "train_regressor",
]
