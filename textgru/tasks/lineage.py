"""What a language model was trained on, across the runs made from each other,
and the check that a classifier's held-out texts were never among them."""

from textgru.data import load_dataset, parse_sources
from textgru.data.config import IN_MEMORY, describe_source
from textgru.data.leakage import check_no_leak
from textgru.errors import DataLeakError
from textgru.training import run_directory


def corpus_of(config):
    """The corpus a run trained on, as recorded in the runs made from it."""
    return {
        "dataset": describe_source(config.dataset),
        "text_column": config.text_column,
        "split_seed": config.split_seed,
    }


def pretrained_on(lm_run):
    """Every corpus whose train split the weights of `lm_run` learned from: its
    own, then those of the language model it was itself made from."""
    info = run_directory.read_config(lm_run.path)
    return info.get("pretrained_on") or [corpus_of(lm_run.config)]


def lm_info(config, parent):
    """The `config.json` facts of a language-model run: what it was trained on
    (with `parent`, the `LanguageModelRun` it went on from, or None)."""
    info = {"pretrained_on": [corpus_of(config)]}
    if parent is not None:
        info["from_lm"] = str(parent.path.resolve())
        info["pretrained_on"] += pretrained_on(parent)
    return info


def check_pretraining(lm_run, config, data):
    """Refuse (`DataLeakError`) a language model that was trained on any
    validation or test text of the classification `data` (loaded as `config`
    says). A corpus that is this task's own train split is skipped: the
    classifier trains on those texts anyway."""
    own = corpus_of(config)
    heldout = [*data["validation"]["text"], *data["test"]["text"]]
    for corpus in pretrained_on(lm_run):
        if corpus == own:
            continue
        if corpus["dataset"].startswith(IN_MEMORY):
            raise DataLeakError(
                f"The language model {lm_run.path} was trained on an "
                f"{corpus['dataset']}, which textgru cannot check against "
                f"{describe_source(config.dataset)}'s validation and test texts; "
                "train the language model on files or built-in datasets"
            )
        texts = load_dataset(
            parse_sources(corpus["dataset"]),
            text_column=corpus["text_column"],
            split_seed=corpus["split_seed"],
        )["train"]["text"]
        check_no_leak(
            list(texts),
            heldout,
            corpus_name=f"The language model {lm_run.path} was trained on "
            f"{corpus['dataset']}, which",
            heldout_name=f"{describe_source(config.dataset)} validation and test",
        )
