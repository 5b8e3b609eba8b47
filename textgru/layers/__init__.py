"""Recurrent layers written from the GRU's gate equations."""

from textgru.layers.convert import (
    copy_gru_weights,
    from_torch_state_dict,
    keras_gru_to_textgru,
    textgru_to_keras_gru,
    to_torch_state_dict,
)
from textgru.layers.gru import GRU
from textgru.layers.gru_cell import GateValues, GRUCell
from textgru.layers.layer_norm_gru_cell import LayerNormGRUCell
from textgru.layers.mgu_cell import MGUCell
from textgru.layers.reversible_embedding import ReversibleEmbedding
from textgru.layers.sequence_pooling import SequencePooling

__all__ = [
    "GRU",
    "GRUCell",
    "GateValues",
    "LayerNormGRUCell",
    "MGUCell",
    "ReversibleEmbedding",
    "SequencePooling",
    "copy_gru_weights",
    "from_torch_state_dict",
    "keras_gru_to_textgru",
    "textgru_to_keras_gru",
    "to_torch_state_dict",
]
