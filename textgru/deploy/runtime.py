"""An exported model, read back and used: `onnxruntime`, `tokenizers` and
NumPy, without TensorFlow or Keras (a `tf_saved_model` export loads with
TensorFlow).

An export folder (`textgru.deploy.exporter`) holds:

- `model.onnx` (or `saved_model/`): the network, from token ids to its
  outputs (a classifier's probabilities, a regressor's number), or a
  language model's step graph;
- `gates.onnx` (an ONNX export of a model that answers texts): the update
  gates of its GRU layers after each token of one text, for `update_gates`
  (`textgru gates EXPORT`, the page of `textgru serve`);
- `tokenizer.json`: the run's tokenizer;
- `export.json`: what the graph needs around it (its task and head: how
  outputs become answers, with the labels and thresholds; how texts become
  ids: `max_length`, `[BOS]`/`[EOS]`, the batch size), where it came from
  and which textgru wrote it;
- `manifest.json`: the sha256 and size of every file, checked on load: a
  file changed since the export was written is refused.

Nothing in an ONNX export runs as code: the JSON files are data, the
tokenizer is read by `tokenizers`, and the graph is handed to onnxruntime
as bytes (the bytes that were checked), so it cannot reach files beside
it. A `tf_saved_model` export is a TensorFlow program (its graph may read
and write files), so it loads only with `trust_code`. Every file is read
only if it is a plain file of its listed size (`textgru._manifest`).
"""

import dataclasses
import json
import threading
from pathlib import Path

import numpy as np

from textgru import _manifest, _predictions, _sampling
from textgru.data.preprocessor import Preprocessor
from textgru.data.tokenizer import Tokenizer
from textgru.deploy.formats import FORMATS, GATES, onnx_session
from textgru.errors import (
    ExportError,
    ExportIntegrityError,
    InvalidArgumentError,
    RunError,
    UntrustedCodeError,
)
from textgru.heads import Labels, head_from_facts
from textgru.interpret.activations import GateActivations

INPUT = "token_ids"
# Bump when the files or their meaning change; others are refused. Format 2
# (every task): export.json records the run's task, its head and its
# graph's kind; format 1 (a classifier or a language model) still reads.
EXPORT_FORMAT = 2
READS = (1, 2)
SPEC = "export.json"
MANIFEST = _manifest.NAME
# What an export's graph can do: answer texts through a head, or (a language
# model's, ONNX only) step through tokens.
_WHAT = {
    "outputs": "a model that answers texts",
    "steps": "a language model (its step graph, for generation)",
}
# The most bytes read of the small files: an export writes far less.
_SMALL = 1 << 20


def is_export(path):
    """Whether `path` is a folder that textgru wrote as an export."""
    return (Path(path) / SPEC).is_file()


def load_export(path, graph=None, *, trust_code=False, threads=None):
    """The `ExportedModel` (or, of a language model, the
    `ExportedLanguageModel`) in the export folder `path`, after checking
    every file against the manifest; `graph`, if given, is the kind asked
    for: `"outputs"` (a model that answers texts) or `"steps"` (a language
    model's step graph, for generation).

    A format whose files are a program (`ExportFormat.runs_code`: a
    TensorFlow SavedModel, whose graph may read and write files when it
    runs) loads only with `trust_code=True`, as TF Serving trusts the
    models it is given: load one only from whoever you would run code from.
    `threads`: the threads onnxruntime runs each graph on (None: every
    core)."""
    path = Path(path)
    threads = check_threads(threads)
    if not path.is_dir():
        raise RunError(f"No export folder at {path}")
    spec = _read_json(path / SPEC)
    if not isinstance(spec, dict) or spec.get("export_format") not in READS:
        made_by = spec.get("textgru_version", "?") if isinstance(spec, dict) else "?"
        raise RunError(
            f"{path} was exported by textgru {made_by} in a format this textgru "
            "cannot read; export the run again"
        )
    kind, holds = FORMATS.get(spec.get("format")), graph_of(spec)
    if kind is None or holds is None or (holds == "steps" and not kind.steps):
        raise ExportIntegrityError(
            f"{path}/{SPEC} names a format {spec.get('format')!r} and task "
            f"{spec.get('task')!r}; it is not an export textgru wrote"
        )
    if graph is not None and graph != holds:
        have, need = (_WHAT[g] for g in (holds, graph))
        raise RunError(f"{path} is an export of {have}; this needs {need}")
    if kind.runs_code and not trust_code:
        raise UntrustedCodeError(
            f"{path} is a {kind.name} export: a TensorFlow SavedModel is a program "
            "(its graph can read and write files when it runs), so it is loaded only "
            "if you trust whoever made it: pass --trust-code (trust_code=True in "
            "Python), or export the run with --format onnx, which holds no code"
        )
    gates = spec.get("gates") if holds == "outputs" and kind.gates else None
    needed = (*kind.files, "tokenizer.json", SPEC, *((GATES,) if gates else ()))
    files = check_manifest(path, needed)
    try:
        tokenizer = Tokenizer.from_json(files["tokenizer.json"].decode("utf-8"))
    except UnicodeDecodeError:
        raise ExportIntegrityError(f"{path}/tokenizer.json is not UTF-8") from None
    if tokenizer.fingerprint != spec.get("tokenizer_fingerprint"):
        raise ExportIntegrityError(
            f"{path}/tokenizer.json is not the tokenizer this model was exported with"
        )
    if holds == "steps":
        stepper = kind.stepper(path, files, threads=threads)
        return ExportedLanguageModel(path, spec, tokenizer, stepper)
    engine, outputs = kind.engine(path, files, threads=threads)
    try:
        model = ExportedModel(
            path, spec, tokenizer, engine, gates=gates and files[GATES], threads=threads
        )
        model.head.check_width(outputs, f"{path}/{SPEC}")
    except (KeyError, TypeError, ValueError) as error:
        raise ExportIntegrityError(
            f"{path}/{SPEC} is damaged ({type(error).__name__}: {error}); export the "
            "run again"
        ) from None
    return model


def check_replaceable(path):
    """Refuse, in one line, to replace the folder `path` unless it is an
    export by its manifest: an export.json and a manifest.json textgru
    wrote, and nothing in the folder that the manifest does not list (a
    folder that merely holds a file named export.json is someone's own)."""
    refused = "; --overwrite replaces only an export textgru wrote (or an empty folder)"
    try:
        spec = _read_json(path / SPEC)
        manifest = _read_json(path / MANIFEST)
        listed = set(_manifest.files_of(manifest, f"{path}/{MANIFEST}", KIND))
    except (RunError, OSError) as error:
        raise RunError(f"{path} is not an export ({error}){refused}") from None
    if not isinstance(spec, dict) or spec.get("export_format") not in READS:
        raise RunError(f"{path}/{SPEC} is not an export's{refused}")
    unlisted = sorted(
        found.relative_to(path).as_posix()
        for found in path.rglob("*")
        if not found.is_dir() or found.is_symlink()
        if found.relative_to(path).as_posix() not in listed | {MANIFEST}
    )
    if unlisted:
        shown = ", ".join(unlisted[:3]) + (", ..." if len(unlisted) > 3 else "")
        raise RunError(
            f"{path} holds files an export does not write ({shown}){refused}"
        )


def graph_of(spec):
    """What an export's graph does, from its export.json: `"outputs"` (a
    model that answers texts through its head), `"steps"` (a language
    model's step graph), or None (neither: not an export textgru wrote)."""
    if spec.get("export_format") == 1:  # before every task shipped
        return {"classify": "outputs", "lm": "steps"}.get(spec.get("task"))
    graph = spec.get("graph")
    kind = graph.get("kind") if isinstance(graph, dict) else None
    return kind if kind in _WHAT else None


def head_of(spec):
    """The head (`textgru.heads.Head`) an export's export.json records."""
    if spec.get("export_format") == 1:  # a classifier's facts at the top
        return Labels(
            spec["label_names"], spec.get("threshold"), spec.get("temperature")
        )
    return head_from_facts(spec["head"])


class ExportedModel:
    """A model read from an export: `predict` as its run has it, with the
    same answers (to 1e-5), through the same head (`textgru.heads`): a
    classifier's labels, a multi-label classifier's label sets, a
    regressor's numbers.

    Attributes: `path`, `task` (the run's task), `head`, `label_names`,
    `tokenizer`, `preprocessor`, `batch_size` (texts per batch by default),
    `spec` (the export.json).
    """

    def __init__(self, path, spec, tokenizer, engine, gates=None, threads=None):
        self.path = Path(path)
        self.spec = spec
        self.task = str(spec.get("task"))
        self.tokenizer = tokenizer
        self.head = head_of(spec)
        pre = spec["preprocessing"]
        self.preprocessor = Preprocessor(
            tokenizer,
            max_length=_whole(pre["max_length"], "max_length", none=True),
            add_bos=_switch(pre["add_bos"], "add_bos"),
            add_eos=_switch(pre["add_eos"], "add_eos"),
        )
        self.batch_size = _whole(pre["batch_size"], "batch_size")
        self.threads = threads
        # A masked model's answers do not depend on which texts share a batch,
        # so its engine may get fewer at a time (`ExportFormat.engine_batch`).
        kind = FORMATS[spec["format"]]
        self.engine_batch = kind.engine_batch if pre.get("masked") else None
        # Whether a server's threads may share its engine without a lock.
        self.concurrent = kind.concurrent
        self._engine = engine
        # The gate graph's bytes (checked), made a session on first use.
        self._gates, self._gate_session = gates, None
        self._gate_lock = threading.Lock()
        self.gate_outputs = [
            {key: str(entry[key]) for key in ("layer", "direction", "output")}
            for entry in (spec.get("gates") or [])
        ]

    graph = "outputs"

    @property
    def format(self):
        return self.spec["format"]

    @property
    def task_name(self):
        return self.task

    @property
    def label_names(self):
        return self.head.label_names

    @property
    def threshold(self):
        """A binary classifier's decision threshold (None: the likelier label)."""
        return getattr(self.head, "threshold", None)

    @property
    def temperature(self):
        """A classifier's calibration temperature (None: none)."""
        return getattr(self.head, "temperature", None)

    @property
    def text_column(self):
        """The column the run read its texts from."""
        return self.spec.get("text_column") or "text"

    def predict_ids(self, ids):
        """The model's outputs for a padded int32 id batch `(batch, length)`."""
        return self._engine(np.asarray(ids, np.int32))

    def outputs(self, texts, batch_size=None):
        """The graph's outputs `(len(texts), width)` (float64) for `texts`."""
        batch_size = batch_size or self.batch_size
        if self.engine_batch:
            batch_size = min(batch_size, self.engine_batch)
        return _predictions.outputs(
            self.predict_ids, self.preprocessor, texts, batch_size
        )

    def predict_proba(self, texts, batch_size=None):
        """Of a classifier, its probabilities, `(len(texts), labels)` (with
        the run's calibration temperature applied, if it had one)."""
        return self.head.probabilities(self.outputs(texts, batch_size))

    def predict(self, texts, batch_size=None, top_k=None):
        """What its run's `predict` gives: one dict per text (a classifier's
        `label` and `probabilities`, a multi-label classifier's `labels`),
        or a regressor's numbers; with `top_k`, the `top` k labels too."""
        texts = list(texts)
        return self.head.predict(texts, self.outputs(texts, batch_size), top_k)

    def answers(self, texts, batch_size=None, top_k=None):
        """One JSON-ready dict per text, as `POST /predict` answers."""
        texts = list(texts)
        return self.head.answers(texts, self.outputs(texts, batch_size), top_k)

    def update_gates(self, text):
        """The update gate of each GRU layer and direction after each token of
        one text: `{"text", "tokens", "layers": [{"layer", "direction",
        "update"}]}`, `update` `(tokens, units)`, as
        `textgru.interpret.gate_activations` gives them (`[EOS]` left out,
        as there)."""
        if self._gates is None:
            raise ExportError(
                f"{self.path} has no gate graph (textgru's {self.format} exports "
                "have none; onnx ones do); export the run with --format onnx, or "
                "use the run itself"
            )
        if not isinstance(text, str):
            raise InvalidArgumentError(
                f"Expected one text (a str). Received: {type(text).__name__}"
            )
        preprocessor = dataclasses.replace(self.preprocessor, add_eos=False)
        ids, tokens = preprocessor.encode_pieces(text)
        if not ids:
            raise InvalidArgumentError(
                f"Expected a text with at least one token. Received: {text!r}"
            )
        names = [entry["output"] for entry in self.gate_outputs]
        with self._gate_lock:  # a server's threads share one session
            if self._gate_session is None:
                session = onnx_session(
                    self._gates, f"{self.path}/{GATES}", self.threads
                )
                have = {output.name for output in session.get_outputs()}
                if not names or have != set(names):
                    raise ExportIntegrityError(
                        f"{self.path}/{SPEC} names other gate outputs than {GATES} "
                        "has; export the run again"
                    )
                self._gate_session = session
        values = self._gate_session.run(names, {INPUT: np.asarray([ids], np.int32)})
        return {
            "text": text,
            "tokens": list(tokens),
            "layers": [
                {"layer": e["layer"], "direction": e["direction"], "update": v[0]}
                for e, v in zip(self.gate_outputs, values, strict=True)
            ],
        }

    def gate_activations(self, texts, layer=0, direction="forward"):
        """`textgru.interpret.gate_activations` of the export, from
        gates.onnx: a `GateActivations` per text (one for a str) with the
        update gate of GRU layer `layer` (its index, or the name of one
        direction's layer) in `direction`, the other gates None (an export
        holds the update gates only)."""
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        if not texts:
            raise InvalidArgumentError("Expected at least one text. Received none")
        found = []
        for text in texts:
            gates = self.update_gates(text)
            chosen = [
                entry
                for entry, output in zip(
                    gates["layers"], self.gate_outputs, strict=True
                )
                if _is_layer(output, layer, direction)
            ]
            if not chosen:
                have = ", ".join(
                    f"{i} ({e['layer']}, {e['direction']})"
                    for i, e in enumerate(gates["layers"])
                )
                raise InvalidArgumentError(
                    f"{self.path} has no GRU layer {layer!r} read {direction}; it "
                    f"has {have}"
                )
            entry = chosen[0]
            ids, _ = dataclasses.replace(
                self.preprocessor, add_eos=False
            ).encode_pieces(text)
            found.append(
                GateActivations(
                    text=text,
                    tokens=gates["tokens"],
                    token_ids=np.asarray(ids),
                    update=entry["update"],
                    reset=None,
                    candidate=None,
                    hidden=None,
                    layer=entry["layer"],
                    direction=entry["direction"],
                )
            )
        return found[0] if single else found

    def __repr__(self):
        return (
            f"ExportedModel({str(self.path)!r}, task={self.task!r}, "
            f"format={self.format!r})"
        )


# The name of `ExportedModel` when only classifiers shipped.
ExportedClassifier = ExportedModel


class ExportedLanguageModel:
    """A language model read from an export: `generate` as a
    `LanguageModelRun` has it (the same text for the same seed), one ONNX
    step per new token.

    Attributes: `path`, `tokenizer`, `spec` (the export.json).
    """

    graph = "steps"
    head = None  # it generates; it has no answers to texts
    concurrent = True  # its states live in each call, its session is shared

    def __init__(self, path, spec, tokenizer, session):
        self.path = Path(path)
        self.spec = spec
        self.tokenizer = tokenizer
        self._session = session
        self._states = [i for i in session.get_inputs() if i.name.startswith("state_")]

    @property
    def format(self):
        return self.spec["format"]

    @property
    def task_name(self):
        return str(self.spec.get("task", "lm"))

    def step(self, tokens, states):
        """`(logits, new_states)` for one token per stream `(batch,)` and each
        layer's state `(batch, units)`."""
        feed = {"token": np.asarray(tokens, np.int32)}
        feed.update(
            {
                i.name: np.asarray(s, np.float32)
                for i, s in zip(self._states, states, strict=True)
            }
        )
        logits, *new = self._session.run(None, feed)
        return logits, new

    def start(self, batch):
        """A function of one token per stream -> next-token logits (float64),
        keeping `batch` streams' states from zero (what `generate` runs)."""
        states = [np.zeros((batch, i.shape[-1]), np.float32) for i in self._states]

        def step(tokens):
            logits, states[:] = self.step(tokens, states)
            return np.asarray(logits, np.float64)

        return step

    def gate_activations(self, texts, layer=0, direction="forward"):
        raise ExportError(
            f"{self.path} is a language model's step graph, which has no gate "
            "graph; draw the gates of its run (textgru gates RUN)"
        )

    def generate(self, prompt="", **kwargs):
        """`textgru.models.generate`'s arguments and result, on the export."""
        return _sampling.continue_text(self.start, self.tokenizer, prompt, **kwargs)

    def __repr__(self):
        return f"ExportedLanguageModel({str(self.path)!r})"


def check_threads(threads):
    """`threads` (onnxruntime's threads per graph: a positive int, or None
    for every core), refused in one line otherwise."""
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise InvalidArgumentError(
            f"Expected `threads` to be a positive integer (or None: every core). "
            f"Received: threads={threads!r}"
        )
    return threads


def _whole(value, name, none=False):
    """A count export.json's preprocessing records (at least 1)."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"preprocessing {name} is {value!r}, not a positive integer")
    return value


def _switch(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"preprocessing {name} is {value!r}, not true or false")
    return value


def _is_layer(output, layer, direction):
    """Whether a gates.onnx output (an entry of export.json's "gates", named
    `update_<number>_<direction>`) is of GRU `layer` (its number, or a
    direction's layer name) in `direction`."""
    if output["direction"] != direction:
        return False
    if isinstance(layer, str):
        return output["layer"] == layer
    return output["output"] == f"update_{layer}_{direction}"


# What an export is, to its manifest (`textgru._manifest`).
KIND = _manifest.Kind(
    "export", ExportIntegrityError, "export the run again", nested=True
)


def check_manifest(path, needed):
    """The bytes of every file the manifest of export `path` lists, after
    checking each one's size and sha256 (a folder's files by their paths
    inside it); `needed` must be listed (a file or a folder's files)."""
    files = _manifest.files_of(_read_json(path / MANIFEST), f"{path}/{MANIFEST}", KIND)
    read = {}
    for name, entry in files.items():
        try:
            read[name] = _manifest.check(path, name, entry, KIND, read=True)
        except FileNotFoundError:
            raise ExportIntegrityError(
                f"{path / name} is missing; the export cannot be used (export the "
                "run again)"
            ) from None
    for name in needed:
        if name == SPEC:
            continue  # read before the manifest, checked below
        if name not in read and not any(other.startswith(f"{name}/") for other in read):
            raise ExportIntegrityError(
                f"{path}/{MANIFEST} does not list {name}, so the export cannot be "
                "checked; export the run again"
            )
    if SPEC not in read:
        raise ExportIntegrityError(f"{path}/{MANIFEST} does not list {SPEC}")
    return read


def _read_json(path):
    too_large = ExportIntegrityError(
        f"{path} is larger than an export writes: it is not its own"
    )
    try:
        data = _manifest.read_limited(path, _SMALL, KIND, too_large=too_large)
    except FileNotFoundError:
        raise RunError(
            f"{path.parent} is not a textgru export: no {path.name}"
        ) from None
    if len(data) > _SMALL:
        raise too_large
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ExportIntegrityError(f"{path} is damaged: not JSON") from None
