"""Turn any raw `datasets.DatasetDict` into textgru's standard form.

Standard form: splits `train`, `validation` and `test`; a string column
`text`; for labelled data a `ClassLabel` column `label` whose names come from
the train split (of multi-label data, a `Sequence(ClassLabel)` column
`labels`: each text's set of labels, see `multi_label_sets`). Empty texts
are dropped (with a warning), duplicates are removed so no two splits share
a text, and missing splits are carved out of `train` with a seeded,
label-stratified split.
"""

import json
import math
import numbers
import warnings

import datasets
import numpy as np

from textgru.errors import DatasetError, DataWarning, InvalidArgumentError

SPLITS = ("train", "validation", "test")
_SPLIT_ALIASES = {"valid": "validation", "val": "validation", "dev": "validation"}


def check_fractions(fractions):
    """`fractions` as a (train, validation, test) tuple of floats summing to 1."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    if (
        len(values) != 3
        or values[0] <= 0
        or min(values) < 0
        or not math.isclose(sum(values), 1.0, abs_tol=1e-6)
    ):
        raise InvalidArgumentError(
            "Expected `split_fractions` to be three fractions (train, validation, "
            "test) that sum to 1 with train > 0. "
            f"Received: split_fractions={fractions!r}"
        )
    return values


def split_indices(num_rows, fractions, seed, labels=None):
    """Seeded (train, validation, test) index arrays, stratified by `labels`.

    Every class keeps at least one example in train, so validation and test
    never hold a label that train lacks.
    """
    _, f_val, f_test = fractions
    rng = np.random.default_rng(seed)
    groups = [np.arange(num_rows)] if labels is None else _groups(labels)
    parts = ([], [], [])
    for members in groups:
        members = rng.permutation(members)
        n = len(members)
        n_test = min(round(f_test * n), max(n - 1, 0))
        n_val = min(round(f_val * n), max(n - 1 - n_test, 0))
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)


def _groups(labels):
    labels = np.asarray(labels)
    return [np.flatnonzero(labels == value) for value in np.unique(labels)]


def standardize(
    raw,
    *,
    source,
    text_column="text",
    label_column="label",
    label_required=False,
    split_fractions=(0.8, 0.1, 0.1),
    split_seed=0,
    keep_columns=(),
    target_column=None,
    multi_label=False,
    label_separator=None,
):
    """Return `raw` (a DatasetDict) in standard form; see the module docstring.

    With `target_column`, the data is for regression: that column's numbers
    become a float `target` column (each a finite number, or a one-line
    `DatasetError` naming its row), labels are not read, and missing splits
    are carved out at random.

    With `multi_label`, each text has a set of labels (the label column
    required): a list (JSON lines, Parquet, a `datasets` `Sequence`), a JSON
    list in a string (`'["sports", "politics"]'`), a string cut at
    `label_separator` (`"sports|politics"`), or a single label. They become
    a `labels` column of `Sequence(ClassLabel)`; missing splits are carved
    out stratified by each text's rarest label."""
    fractions = check_fractions(split_fractions)
    splits = _rename_splits(raw, source)
    columns = sorted({c for split in splits.values() for c in split.column_names})
    for name, split in splits.items():
        if text_column not in split.column_names:
            guess = _text_guess(split)
            raise DatasetError(
                f"{source}: no text column {text_column!r} in split {name!r} "
                f"(columns: {', '.join(split.column_names)}); pass "
                + (f"text_column={guess!r}" if guess else "text_column=...")
            )
    if multi_label:
        label_required = True
    has_label = target_column is None and all(
        label_column in s.column_names for s in splits.values()
    )
    if target_column is not None:
        missing = [n for n, s in splits.items() if target_column not in s.column_names]
        if missing:
            others = [c for c in columns if c != text_column]
            hint = repr(others[0]) if len(others) == 1 else "..."
            raise DatasetError(
                f"{source}: no target column {target_column!r} in split "
                f"{missing[0]!r} (columns: {', '.join(columns)}); pass "
                f"target_column={hint}"
            )
    if label_required and not has_label:
        others = [c for c in columns if c != text_column]
        raise DatasetError(
            f"{source}: no label column {label_column!r} (columns: "
            f"{', '.join(columns)}); pass "
            + (
                f"label_column={others[0]!r}"
                if len(others) == 1
                else "label_column=..."
            )
        )
    table = {}
    for name, split in splits.items():
        table[name] = {"text": _texts(split, text_column, source, name), "label": None}
        if has_label and multi_label:
            table[name]["label"] = multi_label_sets(
                split, label_column, label_separator, source, name
            )
        elif has_label:
            table[name]["label"] = _raw_labels(split, label_column, source, name)
        if target_column is not None:
            table[name]["target"] = _targets(split, target_column, source, name)
        for column in keep_columns:
            if column in split.column_names:
                table[name][column] = split[column]
    _drop_empty_and_duplicates(table, source)
    names = None
    if has_label and multi_label:
        names = _label_set_names(table, source, label_column)
    elif has_label:
        feature = splits["train"].features[label_column]
        names = _label_names(table, feature, source, label_column)
    _carve_missing_splits(table, fractions, split_seed, multi_label=multi_label)
    features = {"text": datasets.Value("string")}
    if names is not None and multi_label:
        for split in table.values():
            split["labels"] = split.pop("label")
        features["labels"] = datasets.Sequence(datasets.ClassLabel(names=names))
    elif names is not None:
        features["label"] = datasets.ClassLabel(names=names)
    if target_column is not None:
        features["target"] = datasets.Value("float32")
    for column in keep_columns:
        if column in splits["train"].column_names:
            features[column] = splits["train"].features[column]
    result = {}
    for name in SPLITS:
        columns = {c: table[name][c] for c in features}
        result[name] = datasets.Dataset.from_dict(
            columns, features=datasets.Features(features), split=name
        )
    return datasets.DatasetDict(result)


def _text_guess(split):
    """The one column of strings a split has, if it has exactly one."""
    strings = [
        column
        for column, feature in split.features.items()
        if isinstance(feature, datasets.Value) and "string" in feature.dtype
    ]
    return strings[0] if len(strings) == 1 else None


def _rename_splits(raw, source):
    splits = {}
    for name, split in raw.items():
        standard = _SPLIT_ALIASES.get(name, name)
        if standard in SPLITS:
            splits[standard] = split
    if "train" not in splits:
        if len(raw) != 1:
            raise DatasetError(
                f"{source}: no 'train' split (splits: {', '.join(raw)}); "
                "name one of them train, validation or test"
            )
        splits = {"train": next(iter(raw.values()))}
    ignored = sorted(set(raw) - set(splits) - set(_SPLIT_ALIASES) - set(SPLITS))
    if ignored and len(raw) > 1:
        warnings.warn(
            f"{source}: ignored split(s) {', '.join(ignored)}; textgru uses "
            "train, validation and test",
            DataWarning,
            stacklevel=3,
        )
    return splits


def _texts(split, column, source, name):
    feature = split.features[column]
    is_text = isinstance(feature, datasets.Value) and "string" in feature.dtype
    if not is_text:
        raise DatasetError(
            f"{source}: column {column!r} of split {name!r} holds {feature}, not "
            "text; pass text_column=... naming the column with the texts"
        )
    return split[column]


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
            "(load_dataset(..., multi_label=True))"
        )
    raise DatasetError(
        f"{source}: label {value!r} in column {column!r} of split {split!r} is not a "
        "class name or an integer class id; bin graded scores into classes first"
    )


def _drop_empty_and_duplicates(table, source):
    seen = set()
    for name in SPLITS:
        if name not in table:
            continue
        split = table[name]
        keep, empty, duplicate = [], 0, 0
        for i, text in enumerate(split["text"]):
            if text is None or not text.strip():
                empty += 1
            elif text in seen:
                duplicate += 1
            else:
                seen.add(text)
                keep.append(i)
        if not keep:
            raise DatasetError(
                f"{source}: every text in split {name!r} is empty "
                f"({len(split['text'])} rows); check text_column"
            )
        if empty:
            warnings.warn(
                f"{source}: dropped {empty} empty text(s) from split {name!r}",
                DataWarning,
                stacklevel=4,
            )
        if duplicate:
            warnings.warn(
                f"{source}: dropped {duplicate} duplicate text(s) from split {name!r} "
                "(a text already in this or an earlier split)",
                DataWarning,
                stacklevel=4,
            )
        if empty or duplicate:
            for column, values in split.items():
                if values is not None:
                    split[column] = [values[i] for i in keep]


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


def _carve_missing_splits(table, fractions, seed, multi_label=False):
    f_train, f_val, f_test = fractions
    missing = [name for name in ("validation", "test") if name not in table]
    if not missing:
        return
    wanted = {"validation": f_val, "test": f_test}
    shares = (f_train, *(wanted[n] if n in missing else 0.0 for n in wanted))
    sub = tuple(f / sum(shares) for f in shares)
    train = table["train"]
    labels = train["label"]
    if multi_label:
        labels = _rarest_labels(labels)
    parts = split_indices(len(train["text"]), sub, seed, labels)
    new = {}
    for name, indices in zip(SPLITS, parts, strict=True):
        if name == "train" or name in missing:
            new[name] = {
                column: None if values is None else [values[i] for i in indices]
                for column, values in train.items()
            }
    table.update(new)
