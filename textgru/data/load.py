"""`load_dataset`: one entry point for built-in names, local files and hub ids."""

import atexit
import csv
import difflib
import errno
import glob
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import datasets
from datasets.exceptions import DatasetGenerationError

from textgru._status import say
from textgru.data.builtin import (  # noqa: F401 (list_datasets: its old home)
    BUILTINS,
    BuiltinDataset,
    data_home,
    list_datasets,
    load_builtin,
)
from textgru.data.prepare import SPLITS, standardize
from textgru.data.progress import quiet
from textgru.data.targets import ClassLabels
from textgru.errors import (
    DatasetError,
    DatasetNotFoundError,
    HubUnreachableError,
    InvalidArgumentError,
)

# File suffix -> (packaged `datasets` builder, extra builder arguments).
FILE_FORMATS = {
    ".csv": ("csv", {}),
    # Tab-separated text has no quoting: a text that starts with a quote
    # keeps it, and a row with a stray tab is an error that names its line.
    ".tsv": ("csv", {"sep": "\t", "quoting": csv.QUOTE_NONE}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
    ".txt": ("text", {}),
}
_TEXT_FORMATS = {".csv", ".tsv", ".json", ".jsonl", ".txt"}


def load_dataset(
    source,
    *,
    text_column="text",
    label_column=None,
    target=None,
    split_fractions=(0.8, 0.1, 0.1),
    split_seed=0,
    **kwargs,
):
    """Load a dataset as a `datasets.DatasetDict` with train/validation/test splits.

    Args:
        source: a built-in name (see `list_datasets()`), a local file path or
            glob (csv, tsv, json, jsonl, parquet or txt), a dict of split name
            to path(s), a `datasets.Dataset` or `DatasetDict` in memory, or a
            Hugging Face hub id (needs the internet; `owner/name`). A list
            of sources is a mixture for language modelling: each is loaded
            and split as above, then their splits are concatenated (texts
            only, plus a `source` column naming where each came from).
        text_column: the column with the texts, renamed to `text`.
        label_column: the column with the class labels, renamed to `label` and
            made a `datasets.ClassLabel` (names from the train split). `None`
            (default) uses a column named `label` when there is one and
            otherwise loads plain text. Short for
            `target=ClassLabels(label_column)`.
        target: what the rows are labelled with, instead
            (`textgru.data.targets`): `ClassLabels(column)`,
            `MultiLabels(column, separator)` (any number of labels per text, a
            `labels` column of `datasets.Sequence(datasets.ClassLabel)`), or
            `Numbers(column)` (one number per text, a float column `target`,
            each a finite number; missing splits carved out at random).
        split_fractions: (train, validation, test) fractions for the splits a
            source does not have; missing ones are carved out of train,
            stratified by label.
        split_seed: seed of that split.
        **kwargs: passed on to `datasets.load_dataset` for files and hub ids
            (for example `name=` for a hub configuration, or `sample_by=`
            for text files).

    Returns:
        A `DatasetDict` with splits `train`, `validation` and `test`, a `text`
        column, and for labelled data its target's column (`label`, `labels`
        or `target`). Empty texts and texts
        seen earlier (in this split or an earlier one) are dropped with a
        `textgru.errors.DataWarning`, so no two splits share a text.

    Example:

    >>> data = textgru.data.load_dataset("rotten_tomatoes")
    >>> data["train"].features["label"].names
    ['rotten', 'fresh']
    >>> {name: len(split) for name, split in data.items()}
    {'train': 10202, 'validation': 1275, 'test': 1275}
    """
    if isinstance(source, BuiltinDataset):
        source = source.name
    if isinstance(source, datasets.Dataset):
        source = datasets.DatasetDict({"train": source})
    if isinstance(source, (list, tuple)):
        return _load_mixture(
            source,
            text_column=text_column,
            split_fractions=split_fractions,
            split_seed=split_seed,
            **kwargs,
        )
    if isinstance(source, datasets.DatasetDict):
        if kwargs:
            raise DatasetError(
                f"An in-memory dataset takes no loading options (received: "
                f"{', '.join(kwargs)})"
            )
        raw, name = source, "the in-memory dataset"
    elif isinstance(source, dict):
        raw, name = _load_files(source, kwargs), "files"
    elif isinstance(source, (str, os.PathLike)) and _is_path(source):
        raw, name = _load_files(source, kwargs), str(source)
    elif isinstance(source, str) and source in BUILTINS:
        if kwargs:
            raise DatasetError(
                f"{source} is a built-in dataset and takes no extra options "
                f"(received: {', '.join(kwargs)})"
            )
        raw, name = datasets.DatasetDict({"train": load_builtin(source)}), source
    elif isinstance(source, str) and source.strip():
        _check_not_a_typo(source)
        raw, name = _load_hub(source, kwargs), source
    else:
        raise DatasetNotFoundError(
            f"Expected a built-in dataset name, a file path or a hub id. "
            f"Received: source={source!r}"
        )
    if target is not None and label_column is not None:
        raise InvalidArgumentError(
            "Give the labels' column as `label_column` or a `target`, not both. "
            f"Received: label_column={label_column!r}, target={target!r}"
        )
    if target is None:
        target = ClassLabels(label_column or "label", required=label_column is not None)
    return standardize(
        raw,
        source=name,
        text_column=text_column,
        target=target,
        split_fractions=split_fractions,
        split_seed=split_seed,
        keep_columns=("title",) if name == "shakespeare" else (),
    )


def _check_not_a_typo(source):
    """A name without a `/` that is close to a built-in one is a typo, not a
    hub id: say so at once instead of asking the hub."""
    if "/" in source:
        return
    close = difflib.get_close_matches(source, list(BUILTINS), n=1, cutoff=0.75)
    if close:
        raise DatasetNotFoundError(
            f"{source!r} is not a built-in dataset; did you mean {close[0]!r}? "
            f"(built-in: {', '.join(BUILTINS)}; a hub dataset is named owner/name)"
        )


def parse_sources(text):
    """The source, or list of sources, that a `--dataset` value names:
    several are joined by commas (`"shakespeare,movie_dialog"`)."""
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) == 1:
        return parts[0]
    if not all(parts):
        raise DatasetNotFoundError(
            f"Expected dataset names separated by single commas. Received: {text!r}"
        )
    return parts


def _load_mixture(sources, **options):
    """Each source split on its own, then concatenated split by split; a text
    already in an earlier source is dropped, so no two splits share one."""
    if not sources:
        raise DatasetNotFoundError("Expected at least one dataset. Received: []")
    columns = {name: {"text": [], "source": []} for name in SPLITS}
    seen = set()
    for source in sources:
        data = load_dataset(source, **options)
        for name in SPLITS:
            texts = [t for t in data[name]["text"] if t not in seen]
            seen.update(texts)
            columns[name]["text"] += texts
            columns[name]["source"] += [str(source)] * len(texts)
    return datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(columns[name]) for name in SPLITS}
    )


def _is_path(source):
    if isinstance(source, os.PathLike):
        return True
    text = str(source)
    return (
        os.path.exists(text)
        or glob.has_magic(text)
        or Path(text).suffix.lower() in FILE_FORMATS
        or text.startswith((".", "/", "~"))
    )


def _load_files(source, kwargs):
    """Read local files through `datasets`' packaged builders."""
    if isinstance(source, dict):
        files = {split: _expand(paths) for split, paths in source.items()}
    else:
        files = {"train": _expand(source)}
    every = [p for paths in files.values() for p in paths]
    suffixes = {p.suffix.lower() for p in every}
    if len(suffixes) != 1 or next(iter(suffixes)) not in FILE_FORMATS:
        raise DatasetError(
            f"Expected files of one format ({', '.join(FILE_FORMATS)}). "
            f"Received: {', '.join(str(p) for p in every)}"
        )
    suffix = suffixes.pop()
    digest = hashlib.sha256()
    for path in every:
        digest.update(_check_file(path, suffix))
    builder, options = FILE_FORMATS[suffix]
    data_files = {split: [str(p) for p in paths] for split, paths in files.items()}
    # `datasets` knows a file by its path and modification time; a cache
    # folder per content means an edited file is never read from a stale cache.
    kwargs.setdefault("cache_dir", str(data_home() / "files" / digest.hexdigest()))
    try:
        # A local file loads in a moment: no progress bars for it.
        with quiet():
            try:
                return datasets.load_dataset(
                    builder, data_files=data_files, **options, **kwargs
                )
            except OSError as error:
                if error.errno not in _READ_ONLY:
                    raise
                # A cache folder that cannot be written to (`datasets` takes a
                # lock in it): read the file again into a cache of this process.
                cache = kwargs["cache_dir"]
                say(f"cannot write to the data cache {cache}; reading without it")
                kwargs["cache_dir"] = _private_cache()
                return datasets.load_dataset(
                    builder, data_files=data_files, **options, **kwargs
                )
    except (ValueError, TypeError, OSError, DatasetGenerationError) as error:
        cause = error.__cause__ or error
        raise DatasetError(
            f"Could not read {', '.join(map(str, every))} as {builder}: "
            f"{_first_line(cause)}"
        ) from None


_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def _private_cache():
    """A cache folder of this process's own, removed as it exits."""
    folder = tempfile.mkdtemp(prefix="textgru-data-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _expand(paths):
    found = []
    for pattern in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        pattern = os.path.expanduser(str(pattern))
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise DatasetNotFoundError(f"No file matches {pattern}")
        for match in matches:
            if os.path.isdir(match):
                raise DatasetNotFoundError(
                    f"{match} is a folder; give a dataset file in it (csv, tsv, json, "
                    "jsonl, parquet or txt), or a glob such as "
                    f"{os.path.join(match, '*.csv')}"
                )
            if not os.path.isfile(match):
                raise DatasetNotFoundError(
                    f"No such file: {match} (expected a dataset file, a built-in "
                    f"name ({', '.join(BUILTINS)}) or a hub id)"
                )
            found.append(Path(match))
    return found


def _check_file(path, suffix):
    """Checks that a data file has content (and is UTF-8 text where it should
    be); returns its bytes."""
    data = path.read_bytes()
    if not data.strip():
        raise DatasetError(f"{path} is empty")
    if suffix in _TEXT_FORMATS:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise DatasetError(
                f"{path}, line {line}: bytes that are not UTF-8 "
                f"({data[error.start : error.start + 4]!r}); re-save the file as UTF-8"
            ) from None
    if suffix in (".csv", ".tsv"):
        _check_header(path, data, "\t" if suffix == ".tsv" else ",")
    return data


def _check_header(path, data, separator):
    """Refuse a table whose header names a column twice (`datasets` would
    silently keep one of them)."""
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff")
    names = next(csv.reader([first], delimiter=separator), [])
    seen = set()
    twice = sorted({name for name in names if name in seen or seen.add(name)})
    if twice:
        raise DatasetError(
            f"{path}: the header names the column{'s' if len(twice) > 1 else ''} "
            f"{', '.join(map(repr, twice))} more than once; give each column its own "
            "name"
        )


def _unreachable(source):
    return HubUnreachableError(
        f"{source!r} is not a built-in dataset or a local file, and the Hugging "
        "Face hub cannot be reached to fetch it. Use a local file (csv, tsv, "
        f"json, jsonl, parquet, txt) or a built-in name: {', '.join(BUILTINS)}"
    )


def _unknown(source):
    return DatasetNotFoundError(
        f"Unknown dataset {source!r}: not a built-in ({', '.join(BUILTINS)}), "
        "not a local file, and not found on the Hugging Face hub"
    )


def _check_hub(source):
    """One quick request before `datasets` tries (it retries for half a
    minute, printing each retry, when the hub cannot be reached)."""
    import huggingface_hub
    from huggingface_hub import errors

    try:
        huggingface_hub.HfApi().dataset_info(source, timeout=10)
    except (errors.RepositoryNotFoundError, errors.HFValidationError):
        raise _unknown(source) from None
    except errors.HfHubHTTPError:
        return  # the hub answered; `datasets` says what it thinks
    except Exception:  # offline mode, DNS, refused, timeout: not reachable
        raise _unreachable(source) from None


def _load_hub(source, kwargs):
    _check_hub(source)
    try:
        return datasets.load_dataset(source, **kwargs)
    except ConnectionError:
        raise _unreachable(source) from None
    except datasets.exceptions.DatasetNotFoundError:
        raise _unknown(source) from None


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


__all__ = ["list_datasets", "load_dataset", "parse_sources"]
