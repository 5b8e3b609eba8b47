"""What a dataset's rows are labelled with: a target spec that
`load_dataset` (`textgru.data.prepare.standardize`) reads, one class each,
so the data layer keeps no per-task modes. A task names its own:

    ClassLabels("label")         one class per text (classify)
    MultiLabels("tags", "|")     any number of labels per text (multilabel)
    Numbers("score")             one number per text (regress)
    NoTarget()                   texts only (language modelling)

Each reads its column from a raw split, checks it (a one-line
`DatasetError` naming the row), turns it into its standard column and
feature, and says how a split carved out of train is stratified.
"""

import json
import math
import numbers
import warnings

import datasets

from textgru.errors import DatasetError, DataWarning


class Target:
    """A column the rows are labelled by.

    Attributes:
        column: its name in the raw data.
        name: the column it becomes (`label`, `labels`, `target`).
        required: whether data without it is refused (else read as texts).
        flag: the argument that names it, for the messages.
    """

    column = None
    name = None
    required = True
    flag = "label_column"

    def present(self, splits):
        """Whether every split has the column."""
        return self.column is not None and all(
            self.column in split.column_names for split in splits.values()
        )

    def missing(self, source, splits, text_column):
        """The `DatasetError` of data that lacks the column."""
        columns = sorted({c for split in splits.values() for c in split.column_names})
        lacking = next(
            name
            for name, split in splits.items()
            if self.column not in split.column_names
        )
        others = [c for c in columns if c != text_column]
        hint = repr(others[0]) if len(others) == 1 else "..."
        return DatasetError(self._missing(source, lacking, columns, hint))

    def _missing(self, source, split, columns, hint):
        return (
            f"{source}: no label column {self.column!r} (columns: "
            f"{', '.join(columns)}); pass {self.flag}={hint}"
        )

    def read(self, split, source, name):
        """The raw values of the column in one split, checked."""
        raise NotImplementedError

    def finish(self, table, splits, source):
        """Turn every split's values (`table[name]["label"]`, after empty and
        duplicate texts are dropped) into their standard form; returns the
        column's `datasets` feature."""
        raise NotImplementedError

    def groups(self, values):
        """What a split carved out of train is stratified by (None: random)."""
        return values


class NoTarget(Target):
    """Texts only (language modelling)."""

    required = False

    def present(self, splits):
        return False


class ClassLabels(Target):
    """One class per text: a `ClassLabel` column `label`, its names from the
    train split (class ids or names, a `ClassLabel` feature kept).

    Args:
        column: the column of the labels.
        required: refuse data without it (else: texts only, as a language
            model reads them).
    """

    name = "label"

    def __init__(self, column="label", required=True):
        self.column, self.required = column, required

    def read(self, split, source, name):
        return _raw_labels(split, self.column, source, name)

    def finish(self, table, splits, source):
        feature = splits["train"].features[self.column]
        names = _label_names(table, feature, source, self.column)
        return datasets.ClassLabel(names=names)


class MultiLabels(Target):
    """Any number of labels per text: a list (JSON lines, Parquet, a
    `datasets` `Sequence`), a JSON list in a string (`'["sports",
    "politics"]'`), a string cut at `separator` (`"sports|politics"`), or a
    single label. They become a `labels` column of `Sequence(ClassLabel)`;
    a split carved out of train is stratified by each text's rarest label.

    Args:
        column: the column of the label sets.
        separator: what separates the labels in a string (None: a string is
            a JSON list or one label).
    """

    name = "labels"

    def __init__(self, column="labels", separator=None):
        self.column, self.separator = column, separator

    def read(self, split, source, name):
        return multi_label_sets(split, self.column, self.separator, source, name)

    def finish(self, table, splits, source):
        names = _label_set_names(table, source, self.column)
        return datasets.Sequence(datasets.ClassLabel(names=names))

    def groups(self, values):
        return _rarest_labels(values)


class Numbers(Target):
    """One number per text: a float column `target` (each a finite number,
    or the text of one); a split carved out of train is random.

    Args:
        column: the column of the numbers.
    """

    name = "target"
    flag = "target_column"

    def __init__(self, column="target"):
        self.column = column

    def _missing(self, source, split, columns, hint):
        return (
            f"{source}: no target column {self.column!r} in split {split!r} "
            f"(columns: {', '.join(columns)}); pass {self.flag}={hint}"
        )

    def read(self, split, source, name):
        return _targets(split, self.column, source, name)

    def finish(self, table, splits, source):
        return datasets.Value("float32")

    def groups(self, values):
        return None


def _raw_labels(split, column, source, name):
    feature = split.features[column]
    values = split[column]
    if isinstance(feature, datasets.ClassLabel):
        return [None if v is None or v < 0 else feature.int2str(v) for v in values]
    keys = [_label_key(v, source, column, name) for v in values]
    listed = next((k for k in keys if isinstance(k, str) and _a_json_list(k)), None)
    if listed is not None:
        warnings.warn(
            f"{source}: labels in column {column!r} of split {name!r} look like "
            f"lists ({listed[:40]}): each different list is read as one class; for "
            "several labels per text, train `textgru train multilabel`",
            DataWarning,
            stacklevel=4,
        )
    return keys


def _a_json_list(text):
    if not (text.startswith("[") and text.endswith("]")):
        return False
    try:
        return isinstance(json.loads(text), list)
    except json.JSONDecodeError:
        return False


def multi_label_sets(split, column, separator, source, name):
    """Each row's labels in `column` of `split`, as a sorted list of label
    keys (see `standardize`); an empty cell, a malformed JSON list or a
    label that is not a name or an integer is a `DatasetError` naming the
    row. `[]` (or an empty JSON list) is a text with no label."""
    feature = split.features[column]
    inner = getattr(feature, "feature", None)
    if isinstance(feature, list) and feature:  # `datasets`' list of features
        inner = feature[0]
    rows = []
    for row, value in enumerate(split[column]):
        if isinstance(value, str):
            value = _label_list_text(value, separator, source, column, name, row)
        if value is None:
            raise DatasetError(
                f"{source}: row {row} of split {name!r} has no labels in column "
                f"{column!r} (an empty cell); write [] for a text with none, or "
                "drop the row"
            )
        if not isinstance(value, (list, tuple)):
            value = [value]
        keys = set()
        for item in value:
            if isinstance(inner, datasets.ClassLabel) and isinstance(item, int):
                item = inner.int2str(item)
            key = _label_key(item, source, column, name)
            if key is None:
                raise DatasetError(
                    f"{source}: row {row} of split {name!r} has an empty label in "
                    f"column {column!r} ({value!r}); drop it from the list"
                )
            keys.add(str(key))
        rows.append(sorted(keys))
    return rows


def _label_list_text(text, separator, source, column, name, row):
    """A string cell of a multi-label column as a list (or None if empty)."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetError(
                f"{source}: row {row} of split {name!r} holds {text[:60]!r} in "
                f"column {column!r}, not a JSON list ({error.msg}); write labels "
                'as ["a", "b"], or as a string cut with --label-separator'
            ) from None
        if not isinstance(value, list):
            raise DatasetError(
                f"{source}: row {row} of split {name!r} holds {text[:60]!r} in "
                f"column {column!r}, not a JSON list of labels"
            )
        return value
    if separator:
        return [part for part in text.split(separator) if part.strip()]
    return [text]


# The largest regression target read: targets are float32 (up to 3.4e38),
# and their spread is computed from their squares in float64 (up to 1.8e308).
LARGEST_TARGET = 1e30


def _targets(split, column, source, name):
    """A regression target column as floats: each a finite number (or the
    text of one), else a `DatasetError` naming the row."""
    values = []
    for row, value in enumerate(split[column]):
        if value is None:  # an empty cell (CSV readers make NaN one too)
            raise DatasetError(
                f"{source}: row {row} of split {name!r} has no target in column "
                f"{column!r} (empty or NaN); fill or drop that row"
            )
        number = None
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None:
            raise DatasetError(
                f"{source}: target {value!r} in column {column!r} of split "
                f"{name!r} (row {row}) is not a number; a regression target is one "
                "number per text"
            )
        if not math.isfinite(number):
            raise DatasetError(
                f"{source}: target {value!r} in column {column!r} of split "
                f"{name!r} (row {row}) is not finite; fill or drop that row"
            )
        if abs(number) > LARGEST_TARGET:
            raise DatasetError(
                f"{source}: target {value!r} in column {column!r} of split "
                f"{name!r} (row {row}) is beyond what the model computes in (float32, "
                f"up to {LARGEST_TARGET:.0e} here); scale the column (e.g. its log)"
            )
        values.append(number)
    return values


def _label_key(value, source, column, split):
    """A label value as a class key: str, or int for integral numbers; None if empty."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return int(value)
    if isinstance(value, (list, tuple)):
        raise DatasetError(
            f"{source}: label {value!r} in column {column!r} of split {split!r} is "
            "a list; for several labels per text, train `textgru train multilabel` "
            "(load_dataset(..., target=MultiLabels(column)))"
        )
    raise DatasetError(
        f"{source}: label {value!r} in column {column!r} of split {split!r} is not a "
        "class name or an integer class id; bin graded scores into classes first"
    )


def _label_names(table, feature, source, column):
    for name, split in table.items():
        missing = [i for i, v in enumerate(split["label"]) if v is None]
        if missing:
            raise DatasetError(
                f"{source}: {len(missing)} empty label(s) in column {column!r} of "
                f"split {name!r} (first at row {missing[0]}); fill or drop them"
            )
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
    else:
        keys = set(table["train"]["label"])
        if len({type(k) for k in keys}) > 1:  # mixed ints and names: all names
            for split in table.values():
                split["label"] = [str(k) for k in split["label"]]
            keys = {str(k) for k in keys}
        names = [str(k) for k in sorted(keys)]
    train_names = {str(k) for k in table["train"]["label"]}
    for name, split in table.items():
        unseen = sorted({str(k) for k in split["label"]} - train_names)
        if unseen:
            raise DatasetError(
                f"{source}: split {name!r} has label(s) {', '.join(unseen)} that the "
                f"train split does not have (train labels: "
                f"{', '.join(sorted(train_names))})"
            )
    index = {n: i for i, n in enumerate(names)}
    for split in table.values():
        split["label"] = [index[str(k)] for k in split["label"]]
    return names


def _label_set_names(table, source, column):
    """The label names of multi-label rows (every label seen in train,
    sorted), the rows turned into lists of label ids; a label that train
    lacks is a `DatasetError`."""
    # Sorted as the one-label classes are: integer ids by value, then names.
    names = sorted(
        {key for keys in table["train"]["label"] for key in keys},
        key=lambda key: (0, int(key), "") if _integral(key) else (1, 0, key),
    )
    if not names:
        raise DatasetError(
            f"{source}: no text of the train split has a label in column "
            f"{column!r}; a multi-label classifier needs labelled texts"
        )
    index = {n: i for i, n in enumerate(names)}
    for name, split in table.items():
        unseen = sorted({k for keys in split["label"] for k in keys} - set(index))
        if unseen:
            raise DatasetError(
                f"{source}: split {name!r} has label(s) {', '.join(unseen)} that the "
                f"train split does not have (train labels: {', '.join(names)})"
            )
        split["label"] = [[index[k] for k in keys] for keys in split["label"]]
    return names


def _integral(text):
    return text.lstrip("-").isdigit()


def _rarest_labels(label_sets):
    """Each text's rarest label (by count over all texts; -1 for none): what
    a multi-label split is stratified by, so every label keeps at least one
    text in train."""
    counts = {}
    for keys in label_sets:
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    return [
        min(keys, key=lambda k: (counts[k], k)) if keys else -1 for keys in label_sets
    ]
