"""Text in, batches out: datasets, tokenizers and tf.data pipelines.

data (`load_dataset`) -> tokenizer (`train_tokenizer`) -> preprocessor
(`Preprocessor`: tokenize, cut, add specials, pad) -> pipeline
(`classification_dataset`, `language_model_dataset`).
"""

from textgru.data.builtin import BuiltinDataset, data_home
from textgru.data.config import DataConfig, TokenizerConfig
from textgru.data.load import list_datasets, load_dataset, parse_sources
from textgru.data.pipeline import classification_dataset, encode, language_model_dataset
from textgru.data.preprocessor import Preprocessor
from textgru.data.tokenizer import SPECIAL_TOKENS, Tokenizer, train_tokenizer

__all__ = [
    "SPECIAL_TOKENS",
    "BuiltinDataset",
    "DataConfig",
    "Preprocessor",
    "Tokenizer",
    "TokenizerConfig",
    "classification_dataset",
    "data_home",
    "encode",
    "language_model_dataset",
    "list_datasets",
    "load_dataset",
    "parse_sources",
    "train_tokenizer",
]
