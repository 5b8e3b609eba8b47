"""Every tokenizer kind trains, saves a standard tokenizer.json and loads back
with identical ids; foreign and broken files are handled."""

import json

import pytest
import tokenizers
from tokenizers import models, pre_tokenizers

import textgru
from textgru.data import SPECIAL_TOKENS, Tokenizer, train_tokenizer
from textgru.errors import InvalidArgumentError, TokenizerError

TEXTS = [
    "The film is not good, but the acting is great!",
    "A quiet, moving story; I loved it.",
    "Worst movie of the year... don't bother.",
    "Über-stylish and naïve: ☃ 2024",
] * 25
KINDS = ["bpe", "wordpiece", "unigram", "word", "char", "byte"]
# These kinds give back exactly the text they were given.
LOSSLESS = ["bpe", "unigram", "char", "byte"]


@pytest.mark.parametrize("kind", KINDS)
def test_train_save_load_gives_identical_ids(tmp_path, kind):
    tokenizer = train_tokenizer(
        TEXTS, kind=kind, vocab_size=None if kind == "byte" else 120
    )
    assert [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id) == (
        0,
        1,
        2,
        3,
    )
    path = tokenizer.save(tmp_path / "tokenizer.json")
    assert json.loads(path.read_text())["model"]["type"]  # a standard file
    loaded = Tokenizer.load(tmp_path)  # a folder holding tokenizer.json works too
    ids = tokenizer.encode_batch(TEXTS[:4])
    assert loaded.encode_batch(TEXTS[:4]) == ids
    assert ids == [tokenizer.encode(t) for t in TEXTS[:4]]
    assert all(0 < i < tokenizer.vocab_size for row in ids for i in row)
    assert loaded.vocab_size == tokenizer.vocab_size <= max(120, 260)
    # The raw Hugging Face library reads the file as it is.
    raw = tokenizers.Tokenizer.from_file(str(path))
    assert raw.encode(TEXTS[0]).ids == ids[0]


@pytest.mark.parametrize("kind", LOSSLESS)
def test_lossless_kinds_decode_to_the_text(kind):
    tokenizer = train_tokenizer(TEXTS, kind=kind)
    for text in TEXTS[:4]:
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_word_kind_lowercases_and_maps_rare_words_to_unk():
    tokenizer = train_tokenizer(TEXTS, kind="word", lowercase=True)
    assert tokenizer.encode("THE FILM") == tokenizer.encode("the film")
    assert tokenizer.tokenize("Not good, BUT great") == [
        "not",
        "good",
        ",",
        "but",
        "great",
    ]
    assert tokenizer.encode("zyzzyva") == [tokenizer.unk_id]
    assert (
        tokenizer.decode(tokenizer.encode("the film is great")) == "the film is great"
    )


def test_vocab_size_caps_the_vocabulary():
    small = train_tokenizer(TEXTS, kind="word", vocab_size=10)
    assert small.vocab_size == 10
    ids = small.encode(TEXTS[0])
    assert small.unk_id in ids  # rarer words fell out of the vocabulary


def test_trains_from_a_datasets_dataset(tmp_path):
    import datasets

    data = datasets.Dataset.from_dict({"text": TEXTS})
    assert train_tokenizer(data, kind="char").encode("ab") == train_tokenizer(
        TEXTS, kind="char"
    ).encode("ab")


def test_char_kind_keeps_newlines_and_spaces():
    tokenizer = train_tokenizer(["ROMEO:\n  But soft!\n"], kind="char")
    assert tokenizer.tokenize("O:\n ") == ["O", ":", "\n", " "]


def test_reads_a_hugging_face_tokenizer_json(tmp_path):
    """A BERT-style tokenizer.json made by the library itself, with padding and
    truncation switched on: textgru reads it and never pads or truncates."""
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5}
    backend = tokenizers.Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.enable_padding(length=16)
    backend.enable_truncation(max_length=1)
    backend.save(str(tmp_path / "tokenizer.json"))
    tokenizer = Tokenizer.load(tmp_path / "tokenizer.json")
    assert tokenizer.encode("hello world again") == [4, 5, 1]
    assert (
        tokenizer.pad_id == 0 and tokenizer.bos_id is None and tokenizer.eos_id is None
    )


def test_corrupted_foreign_and_missing_files(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": "1.0", "model": {"type": "BPE", "vocab"')
    with pytest.raises(TokenizerError, match="broken.json is not a valid Hugging Face"):
        Tokenizer.load(broken)
    foreign = tmp_path / "config.json"
    foreign.write_text(json.dumps({"class_name": "Functional", "config": {}}))
    with pytest.raises(TokenizerError, match="config.json is not a valid") as error:
        Tokenizer.load(foreign)
    assert "\n" not in str(error.value)
    with pytest.raises(TokenizerError, match="No tokenizer file"):
        Tokenizer.load(tmp_path / "missing.json")


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    tokenizer = train_tokenizer(TEXTS, kind="char")
    path = tokenizer.save(tmp_path / "tokenizer.json")
    before = path.read_text()
    other = train_tokenizer(["completely different text"], kind="word")

    class Failing:
        def save(self, name):
            open(name, "w").write('{"half": ')
            raise OSError("disk full")

    other.backend = Failing()
    with pytest.raises(OSError):
        other.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer.json"]


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="kind"):
        train_tokenizer(TEXTS, kind="sentencepiece")
    with pytest.raises(InvalidArgumentError, match="vocab_size"):
        train_tokenizer(TEXTS, kind="word", vocab_size=0)
    with pytest.raises(InvalidArgumentError, match="larger than the 4 special"):
        train_tokenizer(TEXTS, kind="word", vocab_size=4)
    with pytest.raises(InvalidArgumentError, match="fixed vocabulary of 260"):
        train_tokenizer(TEXTS, kind="byte", vocab_size=1000)
    with pytest.raises(InvalidArgumentError, match="not one string"):
        train_tokenizer("a single string", kind="word")
    with pytest.raises(InvalidArgumentError, match="Expected a text"):
        train_tokenizer(["ok", None], kind="word")
    with pytest.raises(TokenizerError, match="every text given was empty"):
        train_tokenizer(["", "  "], kind="word")
    with pytest.raises(InvalidArgumentError, match="Expected a text"):
        train_tokenizer(TEXTS, kind="char").encode_batch(["ok", 3])


def test_repr_and_public_names():
    tokenizer = train_tokenizer(TEXTS, kind="char")
    assert repr(tokenizer).startswith("<textgru.data.Tokenizer WordLevel vocab_size=")
    assert textgru.data.Tokenizer is Tokenizer
