"""Preprocessor: the one way texts become ids, for training batches,
prediction and gate inspection alike."""

import numpy as np
import pytest

from textgru.data import (
    Preprocessor,
    classification_dataset,
    load_dataset,
    train_tokenizer,
)
from textgru.errors import InvalidArgumentError

TEXTS = ["a good film", "bad", "a very long and dull film indeed"]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, kind="word")


def test_cut_then_specials_then_pad(tokenizer):
    plain = tokenizer.encode_batch(TEXTS)
    pre = Preprocessor(tokenizer, max_length=3, add_bos=True, add_eos=True)
    rows = pre.encode_batch(TEXTS)
    bos, eos = tokenizer.bos_id, tokenizer.eos_id
    assert rows == [[bos, *row[:3], eos] for row in plain]
    ids, pieces = pre.encode_pieces(TEXTS[2])
    assert ids == rows[2] and pieces == ["[BOS]", "a", "very", "long", "[EOS]"]
    padded = pre.pad(rows)
    assert padded.dtype == np.int32 and padded.shape == (3, 5)
    assert padded[1].tolist() == [bos, *plain[1], eos, 0, 0]
    batches = list(Preprocessor(tokenizer).batches(TEXTS, batch_size=2))
    assert [b.shape for b in batches] == [(2, 3), (1, 7)]
    by_length = list(Preprocessor(tokenizer).batches_by_length(TEXTS, batch_size=2))
    lengths = [len(row) for row in plain]
    assert [p.tolist() for p, _ in by_length] == [
        sorted(range(3), key=lengths.__getitem__)[:2],
        sorted(range(3), key=lengths.__getitem__)[2:],
    ]
    for positions, ids in by_length:
        assert ids.shape[1] == max(lengths[i] for i in positions)
        np.testing.assert_array_equal(
            ids, Preprocessor(tokenizer).pad([plain[i] for i in positions])
        )


def test_the_training_pipeline_feeds_the_same_ids(tokenizer, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "text,label\n" + "\n".join(f"{t},x{i % 2}" for i, t in enumerate(TEXTS)) + "\n"
    )
    split = load_dataset(str(path), split_seed=0)
    split = split["train"].select(range(len(split["train"])))
    batches = classification_dataset(split, tokenizer, batch_size=8, max_length=4)
    ids, _ = next(iter(batches))
    expected = Preprocessor(tokenizer, max_length=4).pad(
        Preprocessor(tokenizer, max_length=4).encode_batch(split["text"])
    )
    np.testing.assert_array_equal(ids.numpy(), expected)


def test_bad_settings(tokenizer):
    with pytest.raises(InvalidArgumentError, match="max_length"):
        Preprocessor(tokenizer, max_length=0)
    with pytest.raises(InvalidArgumentError, match="max_length"):
        Preprocessor(tokenizer, max_length=2.5)
