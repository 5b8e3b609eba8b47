"""Heads: how a task's model outputs become its answers, one file per kind
of answer, shared by runs and exports (NumPy only).

head        `Head`: what every head shares (answers, a line, file columns)
labels      `Labels`: one label per text (classify)
label_sets  `LabelSets`: any number of labels per text (multilabel)
number      `Number`: one number per text (regress)

`HEADS` is each head by the name export.json records; `head_from_facts`
reads one back.
"""

from textgru.heads.head import Head
from textgru.heads.label_sets import LabelSets
from textgru.heads.labels import Labels
from textgru.heads.number import Number

HEADS = {head.name: head for head in (Labels, LabelSets, Number)}


def head_from_facts(facts):
    """The head that recorded `facts` (a dict with its `name`); a
    `ValueError` (or `TypeError`, `KeyError`) where they are damaged or
    name no head."""
    if not isinstance(facts, dict) or facts.get("name") not in HEADS:
        raise ValueError(f"no head {facts!r}")
    return HEADS[facts["name"]].from_facts(facts)


__all__ = ["HEADS", "Head", "LabelSets", "Labels", "Number", "head_from_facts"]
