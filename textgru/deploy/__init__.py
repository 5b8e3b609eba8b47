"""Using a trained model outside training: export it, load it back, predict.

exporter   `export(run, out, format=...)`: a run as an ONNX graph (predicts
           with onnxruntime, no TensorFlow) or a TensorFlow SavedModel
runtime    `load_export`, `ExportedClassifier`: an export read back, checked
           against its manifest
loading    `load`: a run or an export (`textgru.load`)
server     `make_app`, `serve`: a classifier over HTTP, with its page
           (`page/`: static files) and each token's update gate
labelling  `label_file`: a CSV, JSON lines or Parquet file, labelled
batch_predictor  `BatchPredictor`: an export labelling batches inside Ray
           Data, Spark or Dask

Its names load on first use, so reading an export imports neither
TensorFlow nor Keras.
"""

import importlib

_NAMES = {
    "export": "exporter",
    "FORMATS": "exporter",
    "load_export": "runtime",
    "is_export": "runtime",
    "ExportedClassifier": "runtime",
    "load": "loading",
    "BatchPredictor": "batch_predictor",
}


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module 'textgru.deploy' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"textgru.deploy.{_NAMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_NAMES])


__all__ = sorted(_NAMES)
