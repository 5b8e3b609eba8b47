"""What `textgru serve` allows and where it listens by default: declared
once, here, for the server and its command's flags (no FastAPI needed to
read them)."""

import dataclasses

from textgru.errors import InvalidArgumentError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# The names a server bound to a loopback address answers to (its Host
# header): a page elsewhere that rebinds its own name to 127.0.0.1 is refused.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _limit(default, help_text):
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may ask of the server (`textgru serve`'s flags of
    the same names; these defaults are theirs)."""

    max_texts: int = _limit(256, "texts per POST /predict")
    max_chars: int = _limit(10_000, "characters per text or prompt")
    max_bytes: int = _limit(1 << 20, "bytes per request body")
    max_new_tokens: int = _limit(1000, "tokens per POST /generate")
    # How long a request may take to arrive (nginx's client_header_timeout
    # and client_body_timeout; `textgru.deploy.protocol`).
    header_timeout: int = _limit(10, "seconds for a request's headers to arrive")
    body_timeout: int = _limit(30, "seconds for a request's body to arrive")

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(
                    f"Expected `{field.name}` to be a positive integer. Received: "
                    f"{value!r}"
                )
