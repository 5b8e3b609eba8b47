"""An export inside an engine that spreads batches of rows over processes or
machines (Ray Data, Spark, Dask): a callable, made once per worker, that
labels a batch of rows.

    import ray
    from textgru.deploy import BatchPredictor

    labelled = ray.data.read_parquet("reviews/").map_batches(
        BatchPredictor,
        fn_constructor_args=("exports/sentiment",),
        batch_format="pandas",
        batch_size=4096,
        concurrency=2,  # workers, each with the export loaded once
    )
    labelled.write_parquet("labelled/")

(`recipes/label_with_ray.py` is this as a command.) Each batch comes back as
its rows with the columns `textgru predict --input` writes (the export's
head's: a classifier's `label`, `probability` and `p_<label>` per label; a
multi-label classifier's `labels` and `p_<label>`; a regressor's
`prediction`). A worker loads the export as
`textgru.load` does (onnxruntime, no TensorFlow), checked against its
manifest; a run folder is refused, since every worker would load
TensorFlow: export it first. A batch that already has one of those columns
(a gold `label`, say) is refused rather than overwritten.
"""

import numpy as np

from textgru.deploy.labelling import checked_texts
from textgru.deploy.runtime import is_export, load_export
from textgru.errors import DatasetError, RunError


class BatchPredictor:
    """`BatchPredictor(export)(batch)`: the rows of `batch` (a pandas
    `DataFrame`, or a dict of columns such as Ray's `"numpy"` batches) with
    the label columns added, in a batch of the same kind.

    Args:
        export: the folder of an export (`textgru export`) of a model that
            answers texts (a classifier, multi-label classifier or regressor).
        text_column: the column of the texts (default: the one the run
            trained on, `text` unless it was told another).
        threads: onnxruntime's threads per worker (None: every core; with
            several workers on one machine, cores / workers).
        trust_code: load a `tf_saved_model` export (a TensorFlow program;
            see `textgru.load`).
    """

    def __init__(self, export, text_column=None, threads=None, trust_code=False):
        if not is_export(export):
            raise RunError(
                f"{export} is not an export: BatchPredictor loads one per worker "
                "without TensorFlow; make one with `textgru export RUN --out DIR`"
            )
        self.model = load_export(
            export, graph="outputs", trust_code=trust_code, threads=threads
        )
        self.text_column = text_column or self.model.text_column

    @property
    def label_names(self):
        return self.model.label_names

    def __call__(self, batch):
        column = self.text_column
        if column not in batch:
            raise DatasetError(
                f"The batch has no {column!r} column (its columns: "
                f"{', '.join(map(str, batch.keys()))}); pass text_column="
            )
        head = self.model.head
        taken = [name for name in head.column_kinds if name in batch]
        if taken:
            raise DatasetError(
                f"The batch already has a column named {', '.join(taken)}, which "
                "the predictions would overwrite; rename or drop it first"
            )
        texts = checked_texts(list(batch[column]), column)
        outputs = (
            self.model.outputs(texts)
            if texts
            else np.zeros((0, head.width))  # an engine's empty block
        )
        return _with(batch, head.columns(outputs))


def _with(batch, columns):
    """`batch` with `columns` added: a new DataFrame, or a new dict."""
    if hasattr(batch, "assign"):  # pandas
        return batch.assign(**columns)
    return {**batch, **columns}
