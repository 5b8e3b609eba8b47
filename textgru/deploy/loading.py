"""`textgru.load`: a finished run or an export, ready to predict."""

import importlib

from textgru.deploy.runtime import is_export, load_export


def load(path, allow_partial=False, trust_code=False):
    """The run or export at `path`, ready to use:
    `textgru.load(path).predict(["a text"])` gives each text's label and
    probabilities.

    An export (`textgru export`, `textgru.deploy.export`) loads as an
    `ExportedClassifier` with onnxruntime, without TensorFlow or Keras
    (`allow_partial` and `trust_code` do not apply: an export holds no
    code). A run loads with its task's run class (`textgru.tasks.load_run`,
    which has the details of `allow_partial` and `trust_code`)."""
    if is_export(path):
        return load_export(path)
    tasks = importlib.import_module("textgru.tasks")
    return tasks.load_run(path, allow_partial=allow_partial, trust_code=trust_code)
