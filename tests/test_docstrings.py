"""The `Example:` sections of the public docstrings run and print what they say."""

import doctest

import pytest

from textgru.layers import convert, gru, gru_cell

pytestmark = pytest.mark.layers


@pytest.mark.parametrize("module", [gru_cell, gru, convert], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
