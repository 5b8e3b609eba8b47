"""The data and tokenizer sections of a run's config (see `textgru._config`)."""

import dataclasses
from pathlib import Path

import datasets

from textgru import _validation
from textgru._config import Section, field
from textgru.data.tokenizer import KINDS, Tokenizer, train_tokenizer
from textgru.errors import DatasetError, InvalidArgumentError

# How a run records a dataset it was given in memory.
IN_MEMORY = "in-memory "


@dataclasses.dataclass
class DataConfig(Section):
    """Where the texts come from (`load_dataset`)."""

    dataset: str | datasets.Dataset | datasets.DatasetDict = field(
        "rotten_tomatoes",
        "built-in name, local file or hub id (in Python also a datasets.Dataset "
        "or DatasetDict)",
    )
    text_column: str = field("text", "column with the texts")
    split_seed: int = field(0, "seed of the train/validation/test split")

    def __post_init__(self):
        super().__post_init__()
        _validation.seed("split_seed", self.split_seed)

    def data_source(self):
        """What `load_dataset` reads: the name or file, or the dataset given
        in memory. A run that recorded an in-memory dataset cannot read it
        again: a one-line `DatasetError` says to pass the data."""
        if isinstance(self.dataset, str) and self.dataset.startswith(IN_MEMORY):
            raise DatasetError(
                f"This run was trained on an {self.dataset}, which it could not "
                "save; pass the data again (dataset=...)"
            )
        return self.dataset


def describe_source(dataset):
    """How a config records `dataset`: a name or path as it is, a dataset in
    memory by its kind, size and fingerprint."""
    if isinstance(dataset, datasets.DatasetDict):
        sizes = ", ".join(f"{name} {len(split)}" for name, split in dataset.items())
        prints = ",".join(split._fingerprint for split in dataset.values())
        return f"{IN_MEMORY}DatasetDict ({sizes} rows; fingerprints {prints})"
    if isinstance(dataset, datasets.Dataset):
        return (
            f"{IN_MEMORY}Dataset ({len(dataset)} rows; fingerprint "
            f"{dataset._fingerprint})"
        )
    return dataset


@dataclasses.dataclass
class TokenizerConfig(Section):
    """The tokenizer a run trains on its training texts (`train_tokenizer`),
    or your own (`tokenizer` the path of a Hugging Face tokenizer.json)."""

    tokenizer: str = field(
        "word",
        "word, char, byte, bpe, wordpiece or unigram, or the path of your own "
        "Hugging Face tokenizer.json",
        architecture=True,
    )
    vocab_size: int = field(
        20000,
        "largest vocabulary, specials included (a tokenizer.json has its own)",
        architecture=True,
    )
    lowercase: bool = field(
        True, "lowercase texts before tokenizing", architecture=True
    )

    def __post_init__(self):
        super().__post_init__()
        _validation.positive_int("vocab_size", self.vocab_size)
        path = self._tokenizer_file()
        if (
            self.tokenizer not in KINDS
            and not path.is_file()
            and _looks_like_a_path(self.tokenizer)
        ):
            raise InvalidArgumentError(
                f"No tokenizer file at {path}: `tokenizer` names a tokenizer.json "
                f"that does not exist (or one of {', '.join(KINDS)}). Received: "
                f"tokenizer={self.tokenizer!r}"
            )
        if self.tokenizer not in KINDS and not path.is_file():
            raise InvalidArgumentError(
                f"Expected `tokenizer` to be one of {', '.join(KINDS)}, or the path "
                f"of a tokenizer.json. Received: tokenizer={self.tokenizer!r}"
            )

    def _tokenizer_file(self):
        path = Path(self.tokenizer).expanduser()
        return path / "tokenizer.json" if path.is_dir() else path

    def build_tokenizer(self, texts):
        """The run's tokenizer: trained on `texts` (a `datasets.Dataset` with
        a `text` column), or read from the tokenizer.json `tokenizer` names."""
        if self.tokenizer not in KINDS:
            return Tokenizer.load(self._tokenizer_file())
        return train_tokenizer(
            texts,
            kind=self.tokenizer,
            vocab_size=self.vocab_size,
            lowercase=self.lowercase,
        )


def _looks_like_a_path(text):
    return any(mark in text for mark in ("/", "\\", ".json", "~")) or Path(
        text
    ).parent != Path(".")
