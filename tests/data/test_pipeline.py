"""The tf.data pipelines: shapes, padding and masks, truncation, shuffling,
bucketing, and language-model windows with targets shifted by one."""

import collections

import datasets
import keras
import numpy as np
import pytest

import textgru
from textgru.data import classification_dataset, language_model_dataset, train_tokenizer
from textgru.errors import DatasetError, InvalidArgumentError

WORDS = "the a film movie good bad great awful story actor plot long short fun".split()


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(0)
    texts = [
        " ".join(rng.choice(WORDS, size=rng.integers(1, 30))) + f" {i}"
        for i in range(203)
    ]
    return datasets.Dataset.from_dict(
        {"text": texts, "label": [i % 3 for i in range(203)]},
        features=datasets.Features(
            {
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=["x", "y", "z"]),
            }
        ),
    )


@pytest.fixture(scope="module")
def tokenizer(labelled):
    return train_tokenizer(labelled, kind="word")


def _batches(data):
    return [(x.numpy(), y.numpy()) for x, y in data]


def test_classification_batches_in_order(labelled, tokenizer):
    batches = _batches(classification_dataset(labelled, tokenizer, batch_size=16))
    assert [len(y) for _, y in batches] == [16] * 12 + [11]
    ids = tokenizer.encode_batch(labelled["text"])
    row = 0
    for x, y in batches:
        assert x.dtype == np.int32 and y.dtype == np.int32
        assert x.shape[1] == max(len(r) for r in ids[row : row + len(y)])
        for i in range(len(y)):
            n = len(ids[row + i])
            assert list(x[i, :n]) == ids[row + i]
            assert not x[i, n:].any()  # padded with 0 = [PAD]
            assert y[i] == labelled["label"][row + i]
        row += len(y)
    assert row == len(labelled)


def test_padding_is_what_embedding_masks(labelled, tokenizer):
    x, _ = next(iter(classification_dataset(labelled, tokenizer, batch_size=8)))
    mask = keras.layers.Embedding(tokenizer.vocab_size, 4, mask_zero=True).compute_mask(
        x
    )
    lengths = [len(r) for r in tokenizer.encode_batch(labelled["text"][:8])]
    assert list(np.asarray(mask).sum(axis=1)) == lengths


def test_truncation_and_fixed_width(labelled, tokenizer):
    data = classification_dataset(labelled, tokenizer, batch_size=32, max_length=5)
    ids = tokenizer.encode_batch(labelled["text"][:32])
    x, _ = _batches(data)[0]
    assert x.shape == (32, 5)
    assert [list(r) for r in x] == [r[:5] + [0] * (5 - len(r[:5])) for r in ids]
    fixed = classification_dataset(
        labelled, tokenizer, batch_size=32, max_length=40, pad_to_max_length=True
    )
    assert {x.shape[1] for x, _ in _batches(fixed)} == {40}


def test_shuffle_is_seeded_and_changes_every_epoch(labelled, tokenizer):
    def order(data):
        return [tuple(x[0]) for x, _ in _batches(data)]

    a = classification_dataset(labelled, tokenizer, batch_size=16, shuffle=True, seed=1)
    b = classification_dataset(labelled, tokenizer, batch_size=16, shuffle=True, seed=1)
    assert order(a) == order(b)
    epoch1, epoch2 = order(a), order(a)
    assert epoch1 != epoch2
    unshuffled = classification_dataset(labelled, tokenizer, batch_size=16)
    assert order(a) != order(unshuffled)
    # Every text still comes exactly once per epoch.
    texts = collections.Counter(tuple(r[r > 0]) for x, _ in _batches(a) for r in x)
    assert sum(texts.values()) == len(labelled) == len(texts)


def test_bucketing_pads_less_and_keeps_every_example(labelled, tokenizer):
    plain = _batches(
        classification_dataset(labelled, tokenizer, batch_size=16, shuffle=True)
    )
    bucketed = _batches(
        classification_dataset(
            labelled, tokenizer, batch_size=16, shuffle=True, bucket_by_length=True
        )
    )

    def padding(batches):
        return sum(int((x == 0).sum()) for x, _ in batches)

    # The number of batches is known up front (Keras shows a total).
    data = classification_dataset(
        labelled, tokenizer, batch_size=16, bucket_by_length=True
    )
    assert int(data.cardinality()) == len(_batches(data))
    dropped = classification_dataset(
        labelled, tokenizer, batch_size=16, bucket_by_length=True, drop_remainder=True
    )
    assert int(dropped.cardinality()) == len(_batches(dropped))
    assert {len(y) for _, y in _batches(dropped)} == {16}

    assert padding(bucketed) < padding(plain) / 2
    seen = sorted(
        (tuple(r[r > 0]), int(y[i])) for x, y in bucketed for i, r in enumerate(x)
    )
    expected = sorted(
        (tuple(r), y)
        for r, y in zip(
            tokenizer.encode_batch(labelled["text"]), labelled["label"], strict=True
        )
    )
    assert seen == expected


def test_a_batch_of_empty_texts_has_one_step(tokenizer):
    data = datasets.Dataset.from_dict({"text": [""] * 3, "label": [0, 1, 0]})
    x, y = next(iter(classification_dataset(data, tokenizer, batch_size=3)))
    assert x.shape == (3, 1) and not np.asarray(x).any()


def test_classification_errors(labelled, tokenizer):
    with pytest.raises(DatasetError, match="`label` column"):
        classification_dataset(labelled.remove_columns("label"), tokenizer)
    with pytest.raises(DatasetError, match="has no rows"):
        classification_dataset(labelled.select([]), tokenizer)
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        classification_dataset(labelled, tokenizer, batch_size=0)
    gpt_like = textgru.data.Tokenizer(
        __import__("tokenizers").Tokenizer(
            __import__("tokenizers").models.WordLevel(
                {"!": 0, "<unk>": 1}, unk_token="<unk>"
            )
        )
    )
    with pytest.raises(DatasetError, match=r"\[PAD\] token is id 0"):
        classification_dataset(labelled, gpt_like)


def test_a_model_trains_on_the_pipeline(labelled, tokenizer):
    data = classification_dataset(
        labelled, tokenizer, batch_size=32, shuffle=True, bucket_by_length=True
    )
    model = keras.Sequential(
        [
            keras.layers.Embedding(tokenizer.vocab_size, 8, mask_zero=True),
            textgru.GRU(8),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(data, epochs=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# --- language modelling --------------------------------------------------------

CORPUS = ["To be, or not to be, that is the question:\n", "Whether 'tis nobler\n"] * 10


@pytest.fixture(scope="module")
def chars():
    return train_tokenizer(CORPUS, kind="char")


def _stream(tokenizer, texts):
    return [i for t in texts for i in tokenizer.encode(t) + [tokenizer.eos_id]]


def test_lm_windows_with_targets_shifted_by_one(chars):
    data = datasets.Dataset.from_dict({"text": CORPUS})
    batches = _batches(language_model_dataset(data, chars, seq_len=7, batch_size=4))
    stream = _stream(chars, CORPUS)
    windows = (len(stream) - 1) // 7
    assert sum(len(x) for x, _ in batches) == windows
    x = np.concatenate([x for x, _ in batches])
    y = np.concatenate([y for _, y in batches])
    assert x.shape == (windows, 7) and x.dtype == np.int32
    assert list(x.ravel()) == stream[: windows * 7]
    assert list(y.ravel()) == stream[1 : windows * 7 + 1]
    assert chars.decode(x.ravel()).startswith("To be, or not to be")
    assert (x == chars.eos_id).sum() > 0  # texts are separated by [EOS]


def test_lm_consecutive_batches_continue_each_row(chars):
    data = datasets.Dataset.from_dict({"text": CORPUS})
    batches = _batches(
        language_model_dataset(data, chars, seq_len=5, batch_size=3, consecutive=True)
    )
    stream = _stream(chars, CORPUS)
    lane = len(stream) // 3
    assert len(batches) == (lane - 1) // 5
    for (x, y), (x_next, _) in zip(batches, batches[1:], strict=False):
        assert (x[:, 1:] == y[:, :-1]).all()
        assert (x_next[:, 0] == y[:, -1]).all()  # row b goes on where it stopped
    for b in range(3):
        row = np.concatenate([x[b] for x, _ in batches])
        assert list(row) == stream[b * lane : b * lane + len(row)]


def test_lm_shuffle_and_errors(chars):
    data = datasets.Dataset.from_dict({"text": CORPUS})
    shuffled = language_model_dataset(
        data, chars, seq_len=7, batch_size=4, shuffle=True
    )
    plain = language_model_dataset(data, chars, seq_len=7, batch_size=4)
    a, b = _batches(shuffled), _batches(plain)
    assert sorted(map(tuple, np.concatenate([x for x, _ in a]))) == sorted(
        map(tuple, np.concatenate([x for x, _ in b]))
    )
    assert not all((xa == xb).all() for (xa, _), (xb, _) in zip(a, b, strict=True))
    with pytest.raises(InvalidArgumentError, match="cannot be shuffled"):
        language_model_dataset(data, chars, consecutive=True, shuffle=True)
    with pytest.raises(DatasetError, match="too few"):
        language_model_dataset(data, chars, seq_len=10_000)
    with pytest.raises(InvalidArgumentError, match="seq_len"):
        language_model_dataset(data, chars, seq_len=0)
