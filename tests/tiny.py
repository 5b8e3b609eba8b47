"""Tiny data and sizes shared by the tests (the fixtures over them are in
conftest.py): labelled texts whose label two words give away, and configs
small enough to train in seconds."""

POSITIVE = "good great fine superb lovely fun moving".split()
NEGATIVE = "bad awful dull boring weak messy tedious".split()
NEUTRAL = "film movie plot actor story scene the a it".split()
# A classifier that trains in seconds. Without adversarial training (on by
# default), which makes each training step's trace about 1 s longer: the
# runs that test it set it (tests/test_classification.py's `trained`, the
# distributed runs, the regularizer tests).
TINY = dict(
    embed_dim=8, units=8, vocab_size=200, batch_size=16, epochs=2, max_length=12,
    embedding_dropout=0.0, dropout=0.1, patience=5, learning_rate=1e-2,
    adversarial=0.0,
)  # fmt: skip
# A word language model that trains in seconds.
TINY_LM = dict(
    tokenizer="word", vocab_size=120, embed_dim=8, units=12, num_layers=2,
    seq_len=12, batch_size=8, epochs=1, samples=0, learning_rate=1e-2,
)  # fmt: skip


def labelled_rows(rng, n, classes):
    """`n` (text, label) rows: four neutral words and two of the label's
    class words, shuffled, and a row number (so no two texts are equal)."""
    rows = []
    for i in range(n):
        label = i % len(classes)
        words = list(rng.choice(NEUTRAL, size=4)) + list(
            rng.choice(classes[label], size=2)
        )
        rng.shuffle(words)
        rows.append((" ".join(words) + f" {i}", label))
    return rows


def write_csv(path, rows, names):
    """`rows` as a text,label CSV at `path` (labels by `names`); its path."""
    lines = ["text,label"] + [f"{t},{names[y]}" for t, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)
