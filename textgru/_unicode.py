"""Strings that are text. JSON can escape half of a UTF-16 pair on its own
(`"\\ud800"`), and Python's parser gives it back as a str that no encoder
takes: a tokenizer, a file or a response then fails far from the input.
Such input is refused where it is read, in one line."""

# What a refusal says of it.
LONE_SURROGATE = (
    "a lone surrogate (an escaped \\ud800-\\udfff without its pair), which is not text"
)


def is_text(string):
    """Whether the str `string` can be encoded (holds no lone surrogate)."""
    try:
        string.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def all_text(value):
    """Whether every string of a parsed JSON value (keys too) is text."""
    if isinstance(value, str):
        return is_text(value)
    if isinstance(value, dict):
        return all(is_text(key) and all_text(item) for key, item in value.items())
    if isinstance(value, list):
        return all(all_text(item) for item in value)
    return True
