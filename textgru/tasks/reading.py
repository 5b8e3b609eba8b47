"""How the tasks that read a whole text and answer once (classification,
regression) read it: one config section they share (`ReadingConfig`)."""

import dataclasses

from textgru import _validation
from textgru._config import Section, field
from textgru.errors import DatasetError
from textgru.models import POOLINGS


@dataclasses.dataclass
class ReadingConfig(Section):
    """A text read whole: how much of it, which way, how the states are
    pooled, what the embeddings drop, and how texts are batched."""

    max_length: int = field(128, "keep at most this many tokens per text")
    bidirectional: bool = field(True, "read texts both ways")
    pooling: str = field("max", "last, max, mean, or concat (all three)")
    embedding_dropout: float = field(0.2, "dropped embedding channels")
    word_dropout: float = field(0.0, "dropped tokens (their vectors set to zero)")
    bucket_by_length: bool = field(True, "batch texts of similar length together")

    def backbone_options(self):
        """The `GRUBackbone` arguments of `ModelConfig`, and the reader's
        own: which way it reads and what its embeddings drop."""
        return {
            **super().backbone_options(),
            "bidirectional": self.bidirectional,
            "embedding_dropout": self.embedding_dropout,
            "word_dropout": self.word_dropout,
        }

    def batch_options(self, *, training, drop_remainder):
        """The keyword arguments of the text pipelines
        (`classification_dataset`, `regression_dataset`) for one split:
        shuffled and bucketed only when `training`."""
        return {
            "batch_size": self.batch_size,
            "max_length": self.max_length,
            "shuffle": training,
            "seed": self.seed,
            "bucket_by_length": self.bucket_by_length and training,
            "drop_remainder": drop_remainder,
        }

    def __post_init__(self):
        super().__post_init__()
        _validation.positive_int("max_length", self.max_length)
        _validation.rate("embedding_dropout", self.embedding_dropout)
        _validation.rate("word_dropout", self.word_dropout)
        _validation.one_of("pooling", self.pooling, POOLINGS)


def check_held_out(data, source, *, why="", more="more rows"):
    """A one-line `DatasetError` if the validation or test split of `data`
    is empty (`why`: what follows the training row count in the message,
    `more`: what to give more of)."""
    for split in ("validation", "test"):
        if not len(data[split]):
            raise DatasetError(
                f"{source}: the {split} split is empty ({len(data['train'])} "
                f"training rows{why}); give {more}, or a file with its own "
                f"{split} split"
            )
