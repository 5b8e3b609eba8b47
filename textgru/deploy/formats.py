"""Export formats: how a run's network is written into an export folder and
read back as an engine (a function of a padded id batch), one class each.

    onnx            model.onnx (+ gates.onnx): onnxruntime, no TensorFlow
    tf_saved_model  saved_model/: Keras's own export, for TF Serving

A format of your own is one class and one `register_format` line
(docs/architecture.md, "Adding an export format"): the exporter, the
runtime, `textgru export --format` and `textgru serve` find it here.
Writing may import the training stack; reading imports only what the
format's engine needs.
"""

import os

from textgru.errors import ExportError, ExportIntegrityError

# The update gates of a model that answers texts, by formats that write them.
GATES = "gates.onnx"
# The most texts onnxruntime runs at once for a masked model: its GRU runs
# fewer texts per second in larger batches (500 test texts of the default
# sentiment model: 140 ms in batches of 256, 62 ms in batches of 64,
# measured), where TensorFlow's loop runs more.
ENGINE_BATCH = 64


class ExportFormat:
    """One way to write and read a network.

    Attributes:
        name: its word (`--format NAME`, export.json's "format").
        files: what it writes beside tokenizer.json and export.json (a
            folder's files are listed one by one in the manifest).
        gates: whether it writes the update gates' graph (`GATES`).
        steps: whether it holds a language model's step graph.
        concurrent: whether its engine answers requests side by side (a
            server's threads then share it without a lock).
        engine_batch: the most texts per engine call of a masked model
            (None: the export's batch size).
        runs_code: whether its files are a program that can do more than
            compute (a TensorFlow SavedModel's graph can read and write
            files): such an export loads only with `trust_code`.
    """

    name = None
    files = ()
    gates = False
    steps = False
    concurrent = False
    engine_batch = None
    runs_code = False

    def write(self, run, folder):
        """Write `run`'s network into `folder` (its task's `graph`: the
        outputs for texts, or a language model's steps)."""
        raise NotImplementedError

    def engine(self, folder, files, threads=None):
        """`(engine, width)`: the network as a function of a padded int32 id
        batch `(batch, length)` to its outputs, and how many outputs per
        text it says it gives (None: it does not say). `files` holds the
        bytes of every file the manifest lists, checked; `threads`, the
        threads to compute on (None: every core)."""
        raise NotImplementedError

    def gate_outputs(self, run):
        """export.json's "gates": what the gates' graph outputs, one entry
        per GRU layer and direction (None: it writes none)."""
        return None

    def stepper(self, folder, files, threads=None):
        """A language model's step graph as an onnxruntime-like session."""
        raise ExportError(f"A {self.name} export holds no step graph")


class Onnx(ExportFormat):
    """The network as an ONNX graph of ONNX's own GRU (`onnx_graph`)."""

    name = "onnx"
    files = ("model.onnx",)
    gates = True
    steps = True
    concurrent = True  # onnxruntime's sessions are thread-safe
    engine_batch = ENGINE_BATCH

    def write(self, run, folder):
        from textgru.deploy import onnx_graph

        if run.task.graph == "steps":
            model = onnx_graph.language_model_step_graph(run.model)
        else:
            model = onnx_graph.text_graph(run.model)
            gates = onnx_graph.gates_graph(run.model)
            (folder / GATES).write_bytes(gates.SerializeToString())
        (folder / "model.onnx").write_bytes(model.SerializeToString())

    def gate_outputs(self, run):
        from textgru.deploy import onnx_graph

        return onnx_graph.gate_outputs(run.model)

    def engine(self, folder, files, threads=None):
        session = onnx_session(files["model.onnx"], f"{folder}/model.onnx", threads)
        name = session.get_inputs()[0].name
        width = session.get_outputs()[0].shape[-1]

        def run(ids):
            return session.run(None, {name: ids})[0]

        return run, width if isinstance(width, int) else None

    def stepper(self, folder, files, threads=None):
        return onnx_session(files["model.onnx"], f"{folder}/model.onnx", threads)


class SavedModel(ExportFormat):
    """Keras's own export (`model.export`): a TensorFlow SavedModel whose
    `serving_default` maps token ids to the outputs; it takes any cell. Its
    graph is a TensorFlow program (it may hold ops that read and write
    files), so loading one needs `trust_code`, as the custom-cell module
    of a run does."""

    name = "tf_saved_model"
    files = ("saved_model",)
    runs_code = True

    def write(self, run, folder):
        run.model.export(
            str(folder / "saved_model"), format="tf_saved_model", verbose=False
        )

    def engine(self, folder, files, threads=None):
        import tensorflow as tf

        if threads is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
            except RuntimeError:  # TensorFlow started already: its own count
                pass
        loaded = tf.saved_model.load(str(folder / "saved_model"))
        serve = loaded.signatures["serving_default"]

        def run(ids):
            outputs = serve(tf.constant(ids))
            return next(iter(outputs.values())).numpy()

        return run, None


# Each format by its word; the first is the default.
FORMATS = {}


def register_format(export_format):
    """Make `export_format` (an `ExportFormat`) one that `textgru export`,
    loading and serving know; returns it."""
    FORMATS[export_format.name] = export_format
    return export_format


register_format(Onnx())
register_format(SavedModel())


def onnx_session(model_bytes, where="the graph", threads=None):
    """An onnxruntime session over a graph's bytes (the checked ones: a
    graph given as bytes cannot read files beside it, and onnxruntime
    refuses external data then) on `threads` threads (None: every core);
    a graph it cannot run (not ONNX, an operator it does not have, data
    outside it) is an `ExportIntegrityError` naming `where`."""
    try:
        import onnxruntime
    except ImportError:
        raise ExportError(
            "Predicting with an ONNX export needs onnxruntime: pip install "
            "'textgru[serve]' (or onnxruntime)"
        ) from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # fatal only: a refusal is raised below
    # Every core by default (onnxruntime's default counts physical cores only:
    # one of these machines' two; with both, 1.3x the texts/s at batch 64,
    # measured).
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    try:
        return onnxruntime.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime's errors share no base class
        raise ExportIntegrityError(
            f"{where} is not a graph textgru's onnxruntime can run "
            f"({_reason(error)}); export the run again"
        ) from None


def _reason(error):
    """onnxruntime's message, without its code prefix, in one short line."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = text.split(" : ", 3)[-1] if text.startswith("[ONNXRuntimeError]") else text
    return (text[:197] + "...") if len(text) > 200 else text or type(error).__name__
