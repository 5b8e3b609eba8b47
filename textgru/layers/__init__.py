"""Recurrent layers written from the GRU's gate equations."""

from textgru.layers.convert import (
    copy_gru_weights,
    from_torch_state_dict,
    keras_gru_to_textgru,
    textgru_to_keras_gru,
    to_torch_state_dict,
)
from textgru.layers.gru import GRU
from textgru.layers.gru_cell import GRUCell
from textgru.layers.reversible_embedding import ReversibleEmbedding
from textgru.layers.sequence_pooling import SequencePooling

__all__ = [
    "GRU",
    "GRUCell",
    "ReversibleEmbedding",
    "SequencePooling",
    "copy_gru_weights",
    "from_torch_state_dict",
    "keras_gru_to_textgru",
    "textgru_to_keras_gru",
    "to_torch_state_dict",
]
