"""Look inside trained models: gate activations token by token, and plots.

acts = gate_activations("runs/sentiment", ["not bad at all"])
plots.gate_heatmap(acts)

activations  `GateActivations`: one GRU's gates over one text (NumPy only)
gates        `gate_activations`: a run's gates, stepped through its model
plots        figures of runs and gates (matplotlib only)

Its names load on first use, so drawing an export's gates
(`textgru gates EXPORT`) imports neither TensorFlow nor Keras.
"""

from textgru._lazy import lazy_names

_NAMES = {
    "GATES": "activations",
    "GateActivations": "activations",
    "gate_activations": "gates",
    "gru_directions": "gates",
    "gru_layer_names": "gates",
    "plots": "plots",
}

__getattr__, __dir__, __all__ = lazy_names(__name__, _NAMES)
