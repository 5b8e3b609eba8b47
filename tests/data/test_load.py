"""`load_dataset` on local files of every format, the hub path with the hub
unreachable, and a clear one-line error for every kind of bad input."""

import json

import datasets
import pytest

import textgru
from textgru.errors import (
    DatasetError,
    DatasetNotFoundError,
    DataWarning,
    HubUnreachableError,
    InvalidArgumentError,
)

ROWS = [
    (f"review number {i} is {'good' if i % 2 else 'bad'}", "pos" if i % 2 else "neg")
    for i in range(40)
]


def _write(path, fmt, rows=ROWS, text="text", label="label"):
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        lines = [f"{text}{sep}{label}"] + [f"{t}{sep}{y}" for t, y in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text(
            "".join(json.dumps({text: t, label: y}) + "\n" for t, y in rows),
            encoding="utf-8",
        )
    elif fmt == "json":
        path.write_text(json.dumps([{text: t, label: y} for t, y in rows]))
    elif fmt == "parquet":
        datasets.Dataset.from_dict(
            {text: [r[0] for r in rows], label: [r[1] for r in rows]}
        ).to_parquet(str(path))
    return path


def _texts(data):
    return [t for split in data.values() for t in split["text"]]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_labelled_file_formats(tmp_path, fmt):
    path = _write(tmp_path / f"reviews.{fmt}", fmt)
    data = textgru.data.load_dataset(str(path))
    assert list(data) == ["train", "validation", "test"]
    assert data["train"].features["label"].names == ["neg", "pos"]  # sorted names
    assert sorted(_texts(data)) == sorted(t for t, _ in ROWS)
    assert [len(data[s]) for s in data] == [32, 4, 4]
    for split in data.values():  # labels follow their texts
        for text, label in zip(split["text"], split["label"], strict=True):
            assert ("good" in text) == (label == 1)


def test_text_file_is_plain_text_one_row_per_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(
        "".join(f"line {i}\n" for i in range(20)) + "\n\n", encoding="utf-8"
    )
    with pytest.warns(DataWarning, match="dropped 2 empty text"):
        data = textgru.data.load_dataset(path)  # a Path works too
    assert data["train"].column_names == ["text"]
    assert sorted(_texts(data)) == sorted(f"line {i}" for i in range(20))


def test_glob_and_dict_of_splits(tmp_path):
    _write(tmp_path / "a.csv", "csv", ROWS[:20])
    _write(tmp_path / "b.csv", "csv", ROWS[20:])
    data = textgru.data.load_dataset(str(tmp_path / "*.csv"))
    assert len(_texts(data)) == 40
    train = _write(tmp_path / "train.jsonl", "jsonl", ROWS[:30])
    test = _write(tmp_path / "test.jsonl", "jsonl", ROWS[30:])
    data = textgru.data.load_dataset({"train": str(train), "test": str(test)})
    # The given test split is kept as it is; validation is carved from train.
    assert data["test"]["text"] == [t for t, _ in ROWS[30:]]
    assert len(data["validation"]) + len(data["train"]) == 30
    # 1/9 of train, stratified: round(15 / 9) = 2 of each of the two classes.
    assert len(data["validation"]) == 4


def test_split_aliases(tmp_path):
    files = {
        "train": str(_write(tmp_path / "tr.csv", "csv", ROWS[:30])),
        "dev": str(_write(tmp_path / "dv.csv", "csv", ROWS[30:35])),
        "test": str(_write(tmp_path / "te.csv", "csv", ROWS[35:])),
    }
    data = textgru.data.load_dataset(files)
    assert [len(data[s]) for s in data] == [30, 5, 5]


def test_custom_columns_and_integer_labels(tmp_path):
    rows = [(t, int(y == "pos")) for t, y in ROWS]
    path = _write(tmp_path / "r.csv", "csv", rows, text="review", label="stars")
    data = textgru.data.load_dataset(
        str(path), text_column="review", label_column="stars"
    )
    assert data["train"].column_names == ["text", "label"]
    assert data["train"].features["label"].names == ["0", "1"]
    for text, label in zip(data["train"]["text"], data["train"]["label"], strict=True):
        assert ("good" in text) == (label == 1)


def test_without_a_label_column_the_data_is_plain_text(tmp_path):
    path = _write(tmp_path / "r.csv", "csv", label="other")
    data = textgru.data.load_dataset(str(path))
    assert data["train"].column_names == ["text"]


def test_duplicates_are_removed_across_splits(tmp_path):
    train = _write(tmp_path / "train.csv", "csv", ROWS[:30] + ROWS[:3])
    test = _write(tmp_path / "test.csv", "csv", ROWS[25:35])
    with pytest.warns(DataWarning) as caught:
        data = textgru.data.load_dataset({"train": str(train), "test": str(test)})
    messages = [str(w.message) for w in caught]
    assert any("dropped 3 duplicate text(s) from split 'train'" in m for m in messages)
    assert any("dropped 5 duplicate text(s) from split 'test'" in m for m in messages)
    splits = [set(data[s]["text"]) for s in data]
    assert not splits[0] & splits[1] and not splits[0] & splits[2]
    assert not splits[1] & splits[2]
    assert len(_texts(data)) == 35


def test_stratified_split_is_seeded(tmp_path):
    path = _write(tmp_path / "r.csv", "csv")
    a = textgru.data.load_dataset(str(path), split_seed=3)
    b = textgru.data.load_dataset(str(path), split_seed=3)
    c = textgru.data.load_dataset(str(path), split_seed=4)
    assert a["test"]["text"] == b["test"]["text"] != c["test"]["text"]
    for split in a.values():  # both classes, in equal parts, in every split
        assert sum(split["label"]) * 2 == len(split)


# --- the hub, unreachable here (the tests set HF_HUB_OFFLINE=1) ---------------


def test_hub_id_without_the_hub_is_a_clear_error():
    with pytest.raises(HubUnreachableError) as error:
        textgru.data.load_dataset("cornell-movie-review-data/rotten_tomatoes")
    message = str(error.value)
    assert "hub cannot be reached" in message
    assert "local file" in message and "rotten_tomatoes" in message
    assert "\n" not in message


def test_unknown_name_lists_the_builtins():
    with pytest.raises(DatasetNotFoundError) as error:
        textgru.data.load_dataset("rotten_tomatos")
    message = str(error.value)
    for name in ("rotten_tomatoes", "trec", "sms_spam", "shakespeare"):
        assert name in message


# --- bad input -----------------------------------------------------------------


def _error(source, error=DatasetError, **kwargs):
    with pytest.raises(error) as caught:
        textgru.data.load_dataset(source, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    message = _error(str(tmp_path / "nope.csv"), DatasetNotFoundError)
    assert "nope.csv" in message
    message = _error(str(tmp_path / "*.csv"), DatasetNotFoundError)
    assert "No file matches" in message


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    assert "empty.csv is empty" in _error(str(tmp_path / "empty.csv"))


def test_unsupported_format(tmp_path):
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    assert "one format" in _error(str(tmp_path / "data.xlsx"))


def test_missing_text_column_names_the_columns_found(tmp_path):
    path = _write(tmp_path / "r.csv", "csv", text="review")
    message = _error(str(path))
    assert "no text column 'text'" in message and "review, label" in message


def test_missing_label_column_when_asked_for(tmp_path):
    path = _write(tmp_path / "r.csv", "csv")
    message = _error(str(path), label_column="sentiment")
    assert "no label column 'sentiment'" in message and "label, text" in message


def test_non_text_column(tmp_path):
    path = _write(tmp_path / "r.csv", "csv", [(str(i), "a") for i in range(5)])
    path.write_text("text,label\n1,a\n2,b\n")
    assert "not text" in _error(str(path))


def test_empty_and_nan_labels(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\na good one,pos\na bad one,\nanother,neg\n")
    message = _error(str(path))
    assert (
        "1 empty label(s) in column 'label' of split 'train' (first at row 1)"
        in message
    )
    path.write_text("text,label\na good one,1\na bad one,\nanother,0\n")  # NaN
    assert "empty label" in _error(str(path))


def test_graded_labels_are_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\nok,0.5\nbad,-1.25\n")
    assert "bin graded scores" in _error(str(path))


def test_test_label_missing_from_train(tmp_path):
    train = _write(tmp_path / "train.csv", "csv", ROWS[:20])
    test = _write(tmp_path / "test.csv", "csv", [("something else", "neutral")])
    message = _error({"train": str(train), "test": str(test)})
    assert "split 'test' has label(s) neutral" in message
    assert "train labels: neg, pos" in message


def test_all_texts_empty(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('text,label\n"  ",a\n"",b\n')
    assert "every text in split 'train' is empty" in _error(str(path))


def test_bytes_that_are_not_utf8_name_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncafé ok,a\nnaïve,b\n".encode("latin-1"))
    message = _error(str(path))
    assert "latin1.csv, line 2: bytes that are not UTF-8" in message


def test_bad_split_fractions(tmp_path):
    path = _write(tmp_path / "r.csv", "csv")
    with pytest.raises(InvalidArgumentError, match="sum to 1"):
        textgru.data.load_dataset(str(path), split_fractions=(0.5, 0.1, 0.1))


def test_malformed_file_is_reported_with_its_name(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "fine", "label": "a"}\n{"text": broken\n')
    message = _error(str(path))
    assert "broken.jsonl" in message and "Could not read" in message


def test_not_a_source():
    _error("", DatasetNotFoundError)
    _error(42, DatasetNotFoundError)


def test_a_list_of_sources_is_a_mixture_split_by_source(tmp_path):
    plays = tmp_path / "plays.txt"
    plays.write_text("\n".join(f"line {i} of a play" for i in range(50)) + "\n")
    shared = "a line in both files"
    talk = tmp_path / "talk.txt"
    talk.write_text("\n".join([f"talk {i}" for i in range(30)] + [shared]) + "\n")
    plays.write_text(plays.read_text() + shared + "\n")
    data = textgru.data.load_dataset([str(plays), str(talk)], split_seed=3)
    alone = {p: textgru.data.load_dataset(str(p), split_seed=3) for p in (plays, talk)}
    for split in ("train", "validation", "test"):
        assert data[split].column_names == ["text", "source"]
        own = list(alone[plays][split]["text"])
        # Each source keeps its own split; a text already seen is not repeated.
        others = [t for t in alone[talk][split]["text"] if t != shared]
        assert list(data[split]["text"]) == own + others
        assert list(data[split]["source"]) == [str(plays)] * len(own) + [
            str(talk)
        ] * len(others)
    every = [t for split in data.values() for t in split["text"]]
    assert len(every) == len(set(every)) == 81


def test_parse_sources():
    parse = textgru.data.parse_sources
    assert parse("shakespeare") == "shakespeare"
    assert parse("shakespeare, movie_dialog") == ["shakespeare", "movie_dialog"]
    with pytest.raises(DatasetNotFoundError, match="single commas"):
        parse("shakespeare,,snippets")
    with pytest.raises(DatasetNotFoundError, match="at least one"):
        textgru.data.load_dataset([])
