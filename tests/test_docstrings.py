"""The `Example:` sections of the public docstrings run and print what they say."""

import doctest

import numpy as np
import pytest

import textgru
from textgru.data import load, preprocessor, tokenizer
from textgru.interpret import gates
from textgru.layers import (
    convert,
    gru,
    gru_cell,
    layer_norm_gru_cell,
    mgu_cell,
    reversible_embedding,
    sequence_pooling,
)
from textgru.models import backbone, classifier, generation, language_model
from textgru.tasks import metrics


def _run(module):
    result = doctest.testmod(
        module,
        extraglobs={"textgru": textgru, "np": np},
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.layers
@pytest.mark.parametrize(
    "module",
    [
        gru_cell,
        gru,
        mgu_cell,
        layer_norm_gru_cell,
        convert,
        sequence_pooling,
        reversible_embedding,
        backbone,
        classifier,
        language_model,
        generation,
        gates,
    ],
    ids=lambda m: m.__name__,
)
def test_layer_docstring_examples(module):
    _run(module)


@pytest.mark.parametrize(
    "module", [load, tokenizer, preprocessor, metrics], ids=lambda m: m.__name__
)
def test_data_docstring_examples(module, builtin_home):
    _run(module)
