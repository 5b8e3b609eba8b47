"""Look inside trained models: gate activations token by token, and plots.

acts = gate_activations("runs/sentiment", ["not bad at all"])
plots.gate_heatmap(acts)
"""

from textgru.interpret import plots
from textgru.interpret.gates import (
    GATES,
    GateActivations,
    gate_activations,
    gru_directions,
    gru_layer_names,
)

__all__ = [
    "GATES",
    "GateActivations",
    "gate_activations",
    "gru_directions",
    "gru_layer_names",
    "plots",
]
