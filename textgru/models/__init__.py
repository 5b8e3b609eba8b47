"""Models on top of `textgru.GRU`: the shared backbone, task heads and generation."""

from textgru.models.backbone import GRUBackbone
from textgru.models.classifier import (
    POOLINGS,
    TextClassifier,
    build_classifier,
    classifier_from_lm,
)
from textgru.models.config import ModelConfig
from textgru.models.generation import generate
from textgru.models.language_model import GRULanguageModel, build_language_model
from textgru.models.regressor import TextRegressor, build_regressor

__all__ = [
    "POOLINGS",
    "GRUBackbone",
    "GRULanguageModel",
    "ModelConfig",
    "TextClassifier",
    "TextRegressor",
    "build_classifier",
    "build_language_model",
    "build_regressor",
    "classifier_from_lm",
    "generate",
]
