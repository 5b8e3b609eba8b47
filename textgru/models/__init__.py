"""Model builders on top of `textgru.GRU`."""

from textgru.models.classifier import build_classifier

__all__ = ["build_classifier"]
