"""Model builders on top of `textgru.GRU`, and text generation."""

from textgru.models.classifier import build_classifier
from textgru.models.generation import generate
from textgru.models.language_model import build_language_model
from textgru.models.transfer import classifier_from_lm, layer_groups

__all__ = [
    "build_classifier",
    "build_language_model",
    "classifier_from_lm",
    "generate",
    "layer_groups",
]
