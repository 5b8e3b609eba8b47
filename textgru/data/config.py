"""The data and tokenizer sections of a run's config (see `textgru._config`)."""

import dataclasses

from textgru import _validation
from textgru._config import Section, field
from textgru.data.tokenizer import KINDS


@dataclasses.dataclass
class DataConfig(Section):
    """Where the texts come from (`load_dataset`)."""

    dataset: str = field("rotten_tomatoes", "built-in name, local file or hub id")
    text_column: str = field("text", "column with the texts")
    split_seed: int = field(0, "seed of the train/validation/test split")

    def __post_init__(self):
        super().__post_init__()
        _validation.at_least("split_seed", self.split_seed, 0)


@dataclasses.dataclass
class TokenizerConfig(Section):
    """The tokenizer a run trains on its training texts (`train_tokenizer`)."""

    tokenizer: str = field(
        "word", "word, char, byte, bpe, wordpiece or unigram", architecture=True
    )
    vocab_size: int = field(
        20000, "largest vocabulary, specials included", architecture=True
    )
    lowercase: bool = field(
        True, "lowercase texts before tokenizing", architecture=True
    )

    def __post_init__(self):
        super().__post_init__()
        _validation.positive_int("vocab_size", self.vocab_size)
        _validation.one_of("tokenizer", self.tokenizer, KINDS)

    def tokenizer_options(self):
        """The keyword arguments of `train_tokenizer` this section sets."""
        return {
            "kind": self.tokenizer,
            "vocab_size": self.vocab_size,
            "lowercase": self.lowercase,
        }
