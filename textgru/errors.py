"""The exceptions textgru raises for problems a user can fix.

Every message is one line that says what was received and how to fix it.
`InvalidArgumentError` is also a `ValueError`, so code written against Keras
(which raises `ValueError` for bad layer arguments) keeps working.
"""


class TextgruError(Exception):
    """Base class of every error textgru raises on purpose."""


class InvalidArgumentError(TextgruError, ValueError):
    """An argument has a value or shape that textgru cannot use."""
