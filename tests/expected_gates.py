"""The check shared by the tests of the update gates an export or a server
gives (`ExportedClassifier.update_gates`, `POST /gates`)."""

import numpy as np

from textgru.interpret import gate_activations

# The GRU of tests/tiny.py's TINY classifier: one bidirectional layer.
TINY_LAYERS = [("forward_gru_0", "forward"), ("backward_gru_0", "backward")]


def assert_update_gates(found, run, text):
    """`found` (`{"text", "tokens", "layers"}`) holds, for each layer and
    direction of the TINY classifier `run`, what
    `textgru.interpret.gate_activations` of the run gives, to 1e-5."""
    assert found["text"] == text
    assert [(e["layer"], e["direction"]) for e in found["layers"]] == TINY_LAYERS
    for entry in found["layers"]:
        expected = gate_activations(
            run, text, layer=entry["layer"], direction=entry["direction"]
        )
        assert found["tokens"] == expected.tokens
        np.testing.assert_allclose(
            np.asarray(entry["update"]), expected.update, rtol=0, atol=1e-5
        )
