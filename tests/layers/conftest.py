"""Fixtures of the layer tests."""

import pytest

from textgru.layers import recurrence


@pytest.fixture
def fast_calls(monkeypatch):
    """Counts the runs of textgru.GRU's fast loop (`recurrence.recurrence`)."""
    seen = []
    real = recurrence.recurrence
    monkeypatch.setattr(
        recurrence, "recurrence", lambda *a, **k: seen.append(1) or real(*a, **k)
    )
    return seen


@pytest.fixture
def fast_everywhere(monkeypatch):
    """`fast_path="auto"` takes the fast loop on every backend that has one
    (JAX takes it only when asked for), so its tests run there too."""
    monkeypatch.setattr(recurrence, "AUTO_BACKENDS", recurrence.BACKENDS)
