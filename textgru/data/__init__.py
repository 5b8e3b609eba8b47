"""Text in, batches out: datasets, tokenizers and tf.data pipelines.

data (`load_dataset`, what the rows are labelled with: a target of
`targets`) -> tokenizer (`train_tokenizer`) -> preprocessor
(`Preprocessor`: tokenize, cut, add specials, pad) -> pipeline
(`classification_dataset`, `multi_label_dataset`, `regression_dataset`,
`language_model_dataset`).

Its names load on first use, so listing the built-in datasets
(`textgru datasets`) imports neither `datasets` nor the backend.
"""

from textgru._lazy import lazy_names

# Each public name -> the module that defines it.
_NAMES = {
    "BuiltinDataset": "catalog",
    "data_home": "catalog",
    "list_datasets": "catalog",
    "DataConfig": "config",
    "TokenizerConfig": "config",
    "load_dataset": "load",
    "parse_sources": "load",
    "classification_dataset": "pipeline",
    "encode": "pipeline",
    "language_model_dataset": "pipeline",
    "multi_label_dataset": "pipeline",
    "regression_dataset": "pipeline",
    "target_dataset": "pipeline",
    "read_word_vectors": "vectors",
    "ClassLabels": "targets",
    "MultiLabels": "targets",
    "NoTarget": "targets",
    "Numbers": "targets",
    "Target": "targets",
    "Preprocessor": "preprocessor",
    "SPECIAL_TOKENS": "tokenizer",
    "Tokenizer": "tokenizer",
    "train_tokenizer": "tokenizer",
}


__getattr__, __dir__, __all__ = lazy_names(__name__, _NAMES)
