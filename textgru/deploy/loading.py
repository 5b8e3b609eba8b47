"""`textgru.load`: a finished run or an export, ready to predict."""

import importlib

from textgru.deploy.runtime import is_export, load_export


def load(path, allow_partial=False, trust_code=False, threads=None):
    """The run or export at `path`, ready to use:
    `textgru.load(path).predict(["a text"])` gives each text's answer.

    An export (`textgru export`, `textgru.deploy.export`) loads as an
    `ExportedModel` with onnxruntime, without TensorFlow or Keras, on
    `threads` threads (None: every core); `allow_partial` does not apply. An
    ONNX export holds no code; a `tf_saved_model` export is a TensorFlow
    program and loads only with `trust_code`. A run loads with its task's
    run class (`textgru.tasks.load_run`, which has the details of
    `allow_partial` and `trust_code`)."""
    if is_export(path):
        return load_export(path, trust_code=trust_code, threads=threads)
    tasks = importlib.import_module("textgru.tasks")
    return tasks.load_run(path, allow_partial=allow_partial, trust_code=trust_code)
