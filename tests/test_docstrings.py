"""The `Example:` sections of the public docstrings run and print what they say."""

import doctest

import pytest

import textgru
from textgru.data import load, tokenizer
from textgru.layers import convert, gru, gru_cell


def _run(module):
    result = doctest.testmod(
        module,
        extraglobs={"textgru": textgru},
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.layers
@pytest.mark.parametrize("module", [gru_cell, gru, convert], ids=lambda m: m.__name__)
def test_layer_docstring_examples(module):
    _run(module)


@pytest.mark.parametrize("module", [load, tokenizer], ids=lambda m: m.__name__)
def test_data_docstring_examples(module, builtin_home):
    _run(module)
