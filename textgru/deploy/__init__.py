"""Using a trained model outside training: export it, load it back, predict.

exporter   `export(run, out, format=...)`: a run as an ONNX graph (predicts
           with onnxruntime, no TensorFlow) or a TensorFlow SavedModel
formats    `ExportFormat`, `FORMATS`, `register_format`: how a network is
           written into an export and read back (onnx, tf_saved_model)
runtime    `load_export`, `ExportedModel`, `ExportedLanguageModel`: an export
           read back, checked against its manifest
loading    `load`: a run or an export (`textgru.load`)
server     `make_app`, `serve`: a run or an export over HTTP, from routers
           by what it does, with its page (`page/`: static files) and each
           token's update gate; `schemas`: the bodies it reads and answers
labelling  `label_file`: a CSV, JSON lines or Parquet file, answered
batch_predictor  `BatchPredictor`: an export labelling batches inside Ray
           Data, Spark or Dask

Its names load on first use, so reading an export imports neither
TensorFlow nor Keras.
"""

from textgru._lazy import lazy_names

_NAMES = {
    "export": "exporter",
    "FORMATS": "formats",
    "ExportFormat": "formats",
    "register_format": "formats",
    "load_export": "runtime",
    "is_export": "runtime",
    "ExportedClassifier": "runtime",
    "ExportedModel": "runtime",
    "ExportedLanguageModel": "runtime",
    "load": "loading",
    "BatchPredictor": "batch_predictor",
}


__getattr__, __dir__, __all__ = lazy_names(__name__, _NAMES)
