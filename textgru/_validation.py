"""Argument checks shared by the layers, with Keras-style messages."""

import numbers

from textgru.errors import InvalidArgumentError


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise InvalidArgumentError(
            f"Expected `{name}` to be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def rate(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= value < 1.0
    ):
        raise InvalidArgumentError(
            f"Expected `{name}` to be a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def activation(name, value):
    from keras import activations  # (the rest of this module needs no backend)

    try:
        return activations.get(value)
    except (ValueError, TypeError):
        raise InvalidArgumentError(
            f"Expected `{name}` to be a Keras activation name or callable, "
            f"such as 'tanh' or 'sigmoid'. Received: {name}={value!r}"
        ) from None


def one_of(name, value, allowed):
    if value not in allowed:
        raise InvalidArgumentError(
            f"Expected `{name}` to be one of {', '.join(allowed)}. "
            f"Received: {name}={value!r}"
        )
    return value


def at_least(name, value, low):
    if not value >= low:
        raise InvalidArgumentError(
            f"Expected `{name}` >= {low}. Received: {name}={value!r}"
        )
    return value


def non_negative(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= value < float("inf")
    ):
        raise InvalidArgumentError(
            f"Expected `{name}` to be a finite number >= 0. Received: {name}={value!r}"
        )
    return float(value)


# The largest seed Keras (`keras.utils.set_random_seed`) and NumPy's legacy
# generator take.
MAX_SEED = 2**32 - 1


def seed(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= value <= MAX_SEED
    ):
        raise InvalidArgumentError(
            f"Expected `{name}` to be an integer from 0 to {MAX_SEED}. "
            f"Received: {name}={value!r}"
        )
    return int(value)
