"""Model builders on top of `textgru.GRU`, and text generation."""

from textgru.models.classifier import build_classifier
from textgru.models.generation import generate
from textgru.models.language_model import build_language_model

__all__ = ["build_classifier", "build_language_model", "generate"]
