"""The `Example:` sections of the public docstrings run and print what they say."""

import doctest

import numpy as np
import pytest

import textgru
from textgru import evaluation, inspect
from textgru.data import load, tokenizer
from textgru.layers import (
    convert,
    gru,
    gru_cell,
    layer_norm_gru_cell,
    mgu_cell,
    reversible_embedding,
    sequence_pooling,
)
from textgru.models import classifier, generation, language_model


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
        classifier,
        language_model,
        generation,
        inspect,
    ],
    ids=lambda m: m.__name__,
)
def test_layer_docstring_examples(module):
    _run(module)


@pytest.mark.parametrize(
    "module", [load, tokenizer, evaluation], ids=lambda m: m.__name__
)
def test_data_docstring_examples(module, builtin_home):
    _run(module)
