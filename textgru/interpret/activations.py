"""What `gate_activations` gives: one GRU's gates over one text, token by
token (NumPy only, so an export's gates are drawn without TensorFlow)."""

import dataclasses

import numpy as np

from textgru.errors import InvalidArgumentError

DIRECTIONS = ("forward", "backward")
GATES = ("update", "reset", "candidate", "hidden")


@dataclasses.dataclass(frozen=True)
class GateActivations:
    """The gate activations of one GRU over one text, one row per token.

    Attributes:
        text: the text.
        tokens: the piece of `text` each token covers (`[BOS]` and other
            special tokens by name), for labelling plots.
        token_ids: the ids the model read, `(length,)`.
        update: the update gate z_t, `(length, units)`: near 1 keeps the
            previous state, near 0 overwrites it with the candidate. None
            for a cell without one (`MGUCell`).
        reset: the reset gate r_t, `(length, units)`: how much of the previous
            state the candidate sees (`MGUCell`'s forget gate f). None for a
            cell without one.
        candidate: the candidate state h~_t, `(length, units)`, or None.
        hidden: the state h_t after reading token t, `(length, units)`.
        layer: the name of the GRU layer.
        direction: `"forward"`, or `"backward"` for the backward half of a
            `Bidirectional` GRU (row t has read the text from its end back
            to token t).
        cell: the class name of the GRU's cell (`GRUCell`, `MGUCell`, ...).
    """

    text: str
    tokens: list
    token_ids: np.ndarray
    update: np.ndarray | None
    reset: np.ndarray | None
    candidate: np.ndarray | None
    hidden: np.ndarray
    layer: str
    direction: str
    cell: str = "GRUCell"

    @property
    def gates(self):
        """The names of what this cell has, in `GATES` order (`hidden` always)."""
        return tuple(name for name in GATES if getattr(self, name) is not None)

    def gate(self, name):
        """One of `update`, `reset`, `candidate` or `hidden` by name."""
        if name not in GATES:
            raise InvalidArgumentError(
                f"Expected a gate in {', '.join(GATES)}. Received: {name!r}"
            )
        value = getattr(self, name)
        if value is None:
            raise InvalidArgumentError(
                f"The {self.cell} of layer {self.layer!r} has no {name} gate; it "
                f"has {', '.join(self.gates)}. Received: gate={name!r}"
            )
        return value
