"""The exceptions and warnings textgru raises for problems a user can fix.

Every message is one line that says what was received and how to fix it.
Errors about values are also `ValueError`s, so code written against Keras
(which raises `ValueError` for bad layer arguments) keeps working.
"""

import re

# What Keras wraps around an error raised inside a layer's `call`: a header,
# the message in bold, and the arguments of the call.
_KERAS_CALL_CONTEXT = re.compile(
    r"^Exception encountered when calling .*?\x1b\[1m(.*?)\x1b\[0m", re.S
)


def message_of(error):
    """The one-line message of `error`, without the lines Keras adds to an
    error raised inside a layer's `call` (what the `textgru` command prints)."""
    text = str(error)
    match = _KERAS_CALL_CONTEXT.match(text)
    return match.group(1).strip() if match else text


class TextgruError(Exception):
    """Base class of every error textgru raises on purpose."""

    # Exception's own __init__ (not ValueError's) lets TensorFlow's autograph
    # re-raise an error from traced code (a layer inside `fit`) as its own
    # type instead of a StagingError.
    __init__ = Exception.__init__


class InvalidArgumentError(TextgruError, ValueError):
    """An argument has a value or shape that textgru cannot use."""


class DatasetError(TextgruError, ValueError):
    """A dataset cannot be used: bad file content, columns, labels or texts."""


class DatasetNotFoundError(DatasetError):
    """A dataset source does not exist: unknown name, missing file."""


class HubUnreachableError(DatasetNotFoundError):
    """A Hugging Face hub dataset was asked for, but the hub cannot be reached."""


class ChecksumError(DatasetError):
    """A downloaded data file does not match its recorded sha256."""


class DataLeakError(DatasetError):
    """A pretraining corpus contains texts that a task holds out for
    validation or testing."""


class TokenizerError(TextgruError, ValueError):
    """A tokenizer cannot be trained, read or used."""


class DataWarning(UserWarning):
    """Data was changed on load (rows dropped); the message says how many."""


class RunError(TextgruError, ValueError):
    """A run directory is missing, incomplete, in use or from another version."""


class RunIntegrityError(RunError):
    """A file of a finished run is not the one the run wrote (edited, swapped
    or damaged), so what it computes could be silently wrong."""


class UntrustedCodeError(RunError):
    """A run folder names code (its cell's module) that loading it would
    import, and the user has not said they trust it."""


class TrainingDivergedError(RunError):
    """The training loss became NaN or infinite."""


class ExportError(TextgruError, ValueError):
    """A model cannot be exported in the format asked for (the message says
    which part, and which format can)."""


class ExportIntegrityError(RunIntegrityError):
    """A file of an export is not the one the export wrote (edited, swapped
    or damaged), so what it computes could be silently wrong."""
