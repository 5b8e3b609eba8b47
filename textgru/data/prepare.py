"""Turn any raw `datasets.DatasetDict` into textgru's standard form.

Standard form: splits `train`, `validation` and `test`; a string column
`text`; for labelled data the target's column (`textgru.data.targets`: a
`ClassLabel` column `label` whose names come from the train split, a
`Sequence(ClassLabel)` column `labels`, or a float column `target`). Empty
texts are dropped (with a warning), duplicates are removed so no two splits
share a text, and missing splits are carved out of `train` with a seeded
split, stratified as the target says.
"""

import math
import warnings

import datasets
import numpy as np

from textgru.data.targets import ClassLabels
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
    target=None,
    split_fractions=(0.8, 0.1, 0.1),
    split_seed=0,
    keep_columns=(),
):
    """Return `raw` (a DatasetDict) in standard form; see the module docstring.

    `target` (a `textgru.data.targets.Target`) is what the rows are labelled
    with: class labels (default: a `label` column where every split has
    one, else texts only), label sets or numbers; it reads and checks its
    column and says how missing splits are carved out."""
    target = target or ClassLabels("label", required=False)
    fractions = check_fractions(split_fractions)
    splits = _rename_splits(raw, source)
    for name, split in splits.items():
        if text_column not in split.column_names:
            guess = _text_guess(split)
            raise DatasetError(
                f"{source}: no text column {text_column!r} in split {name!r} "
                f"(columns: {', '.join(split.column_names)}); pass "
                + (f"text_column={guess!r}" if guess else "text_column=...")
            )
    labelled = target.present(splits)
    if target.required and not labelled:
        raise target.missing(source, splits, text_column)
    table = {}
    for name, split in splits.items():
        table[name] = {
            "text": _texts(split, text_column, source, name),
            "label": target.read(split, source, name) if labelled else None,
        }
        for column in keep_columns:
            if column in split.column_names:
                table[name][column] = split[column]
    _drop_empty_and_duplicates(table, source)
    feature = target.finish(table, splits, source) if labelled else None
    _carve_missing_splits(table, fractions, split_seed, target.groups)
    features = {"text": datasets.Value("string")}
    if feature is not None:
        for split in table.values():
            split[target.name] = split.pop("label")
        features[target.name] = feature
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


def _carve_missing_splits(table, fractions, seed, groups):
    f_train, f_val, f_test = fractions
    missing = [name for name in ("validation", "test") if name not in table]
    if not missing:
        return
    wanted = {"validation": f_val, "test": f_test}
    shares = (f_train, *(wanted[n] if n in missing else 0.0 for n in wanted))
    sub = tuple(f / sum(shares) for f in shares)
    train = table["train"]
    labels = None if train["label"] is None else groups(train["label"])
    parts = split_indices(len(train["text"]), sub, seed, labels)
    new = {}
    for name, indices in zip(SPLITS, parts, strict=True):
        if name == "train" or name in missing:
            new[name] = {
                column: None if values is None else [values[i] for i in indices]
                for column, values in train.items()
            }
    table.update(new)
