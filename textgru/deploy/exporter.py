"""`textgru export`: a trained model of any task as a folder that answers
(or generates) without the training stack.

- `onnx` (the default): the network as an ONNX graph (`onnx_graph`), with
  the tokenizer, what preprocessing needs and the run's head (how outputs
  become answers: labels at their thresholds, label sets, numbers); it
  answers strings with onnxruntime, tokenizers and NumPy alone
  (`textgru.load(folder)`, `textgru predict folder TEXT`, `textgru serve
  folder`, `textgru gates folder TEXT`). Before the folder is finished, the
  graph is run on probe texts and must give the run's own outputs and
  update gates to `TOLERANCE`, or nothing is written.
- a language model exports its step graph (one token and each layer's
  state in, the next token's logits and the new states out), so `generate`
  runs on the export (`textgru generate folder`), checked the same way.
- `tf_saved_model`: Keras's own export (`model.export`), which takes any
  cell: a TensorFlow SavedModel whose `serving_default` signature maps token
  ids `(batch, length)` int32 to the model's outputs, for TF Serving or
  `tf.saved_model.load`, beside the same tokenizer and export.json.

The folder is written under a temporary name and renamed into place when
complete, so an export that fails leaves nothing behind.
"""

import importlib
import json
from pathlib import Path

import numpy as np

from textgru import _manifest
from textgru._atomic import atomic_path
from textgru._status import say
from textgru._version import __version__
from textgru.data.fetch import sha256_of
from textgru.deploy import runtime
from textgru.deploy.formats import FORMATS
from textgru.errors import ExportError, InvalidArgumentError, RunError

# The largest difference allowed between the export's probabilities and the
# run's on the probe texts.
TOLERANCE = 1e-5
PROBES = 48
# Probe texts for the update gates (`gate_activations` steps through each
# text in Python, a few ms per token).
GATE_PROBES = 4


def export(run, out, *, format="onnx", overwrite=False, trust_code=False):
    """Export the run `run` (of any task, or the path of one) to the folder
    `out`; returns the `ExportedModel` (of a language model, the
    `ExportedLanguageModel`) read back from it.

    `format` is one of `textgru.deploy.formats.FORMATS`: `"onnx"` or
    `"tf_saved_model"` (not a language model's: it exports its step graph,
    for `generate`), or one you registered. An existing
    `out` is replaced only with `overwrite` and only if it is an export (or
    an empty folder).
    `trust_code` lets a run made with your own cell import its module (see
    `textgru.load`); only `tf_saved_model` can export such a run."""
    if format not in FORMATS:
        raise InvalidArgumentError(
            f"Expected `format` to be one of {', '.join(FORMATS)}. "
            f"Received: format={format!r}"
        )
    out = Path(out)
    _check_out(out, overwrite)
    if isinstance(run, (str, Path)):
        tasks = importlib.import_module("textgru.tasks")
        run = tasks.load_run(run, trust_code=trust_code)
    kind = run.task.graph
    if kind is None:
        raise ExportError(
            f"{run.path} is a {run.task.name!r} run, which has no export (use the "
            "run itself: textgru.load, textgru predict)"
        )
    if kind == "steps" and not FORMATS[format].steps:
        holding = " or ".join(name for name, f in FORMATS.items() if f.steps)
        raise ExportError(
            f"{run.path} is a language model, which exports as {holding} only (a "
            "step graph for generation); leave out --format"
        )
    with atomic_path(out, directory=True) as folder:
        say(f"writing the {format} export of {run.path}")
        FORMATS[format].write(run, folder)
        (folder / "tokenizer.json").write_text(run.tokenizer.to_json(), "utf-8")
        spec = _spec(run, format, kind)
        (folder / runtime.SPEC).write_text(json.dumps(spec, indent=2), "utf-8")
        _write_manifest(folder)
        exported = runtime.load_export(folder, trust_code=True)  # its own files
        check = check_same if kind == "outputs" else check_same_steps
        difference = check(run, exported)
        spec["checked"] = {"texts": PROBES, "largest_difference": difference}
        if exported.spec.get("gates"):
            spec["checked"]["gates"] = check_same_gates(run, exported)
        (folder / runtime.SPEC).write_text(json.dumps(spec, indent=2), "utf-8")
        _write_manifest(folder)
    what = "answers" if kind == "outputs" else "generates"
    say(f"exported {run.path} to {out} ({format}); it {what} as the run does")
    return runtime.load_export(out, trust_code=True)


def check_same(run, exported):
    """The largest difference between the run's and the export's outputs
    (probabilities, or a regressor's numbers relative to the largest) on
    probe texts (every length up to past `max_length`, and a word the
    tokenizer never saw); an `ExportError` above `TOLERANCE`."""
    texts = probe_texts(run.tokenizer, run.preprocessor.max_length, PROBES)
    expected = run.outputs(texts)
    got = exported.outputs(texts)
    scale = 1.0 if exported.head.label_names else max(1.0, np.abs(expected).max())
    return _compared(float(np.abs(expected - got).max() / scale), "outputs")


def check_same_steps(run, exported, steps=12, streams=3, seed=0):
    """The largest difference between the next-token logits of a language
    model run's step model and its export's, over `steps` random tokens of
    `streams` streams (the states carried); an `ExportError` above
    `TOLERANCE` (relative to the largest logit)."""
    from textgru.models.generation import compiled_step, step_model

    step = step_model(run.model)
    call = compiled_step(step)
    ours = [np.zeros((streams, s.shape[-1]), np.float32) for s in step.inputs[1:]]
    theirs = [np.array(s) for s in ours]
    rng = np.random.default_rng(seed)
    largest = 0.0
    for _ in range(steps):
        tokens = rng.integers(0, run.tokenizer.vocab_size, streams).astype(np.int32)
        expected, *ours = (np.asarray(x) for x in call(tokens, ours))
        got, theirs = exported.step(tokens, theirs)
        scale = max(1.0, float(np.abs(expected).max()))
        largest = max(largest, float(np.abs(expected - got).max()) / scale)
    return _compared(largest, "next-token logits")


def check_same_gates(run, exported, count=GATE_PROBES):
    """The largest difference between the export's update gates
    (`update_gates`) and `textgru.interpret.gate_activations` of the run,
    over `count` probe texts and every GRU layer and direction; an
    `ExportError` above `TOLERANCE`."""
    from textgru.interpret import gate_activations

    texts = probe_texts(run.tokenizer, run.preprocessor.max_length, count, seed=1)
    largest = 0.0
    for text in texts:
        got = exported.update_gates(text)
        for entry in got["layers"]:
            expected = gate_activations(
                run, text, layer=entry["layer"], direction=entry["direction"]
            )
            if expected.tokens != got["tokens"]:
                raise ExportError(
                    f"The export reads {text!r} as other tokens than the run; "
                    "nothing was written. Please report it"
                )
            difference = float(np.abs(expected.update - entry["update"]).max())
            largest = max(largest, difference)
    return _compared(largest, "update gates")


def _compared(difference, what):
    if not difference <= TOLERANCE:
        raise ExportError(
            f"The export's {what} differ from the run's by {difference:.2g} (more "
            f"than {TOLERANCE:g}) on probe inputs; nothing was written. Please "
            "report it, and export with --format tf_saved_model meanwhile"
        )
    return difference


def probe_texts(tokenizer, max_length, count, seed=0):
    """`count` texts of the tokenizer's own words (no special tokens), of every
    length from 1 to past `max_length`, one with a word it never saw."""
    rng = np.random.default_rng(seed)
    vocabulary = [
        token
        for token in (tokenizer.id_to_token(i) for i in range(tokenizer.vocab_size))
        if token and not token.startswith("[") and token.isprintable()
    ]
    longest = (max_length or 64) + 4
    texts = ["zzqxv unseenword"]
    while len(texts) < count:
        length = 1 + len(texts) % longest
        texts.append(" ".join(rng.choice(vocabulary, size=length)))
    return texts


def _spec(run, format, kind):
    if kind == "outputs":
        pre = run.preprocessor
        facts = {
            # How the graph's outputs become answers (`textgru.heads`).
            "head": run.head.facts(),
            "preprocessing": {
                "max_length": pre.max_length,
                "add_bos": pre.add_bos,
                "add_eos": pre.add_eos,
                "pad_id": pre.pad_id,
                "batch_size": run.config.batch_size,
                # Padding is masked: a text's answer is the same in any batch.
                "masked": bool(run.model.backbone.mask_zero),
            },
            "graph": {"kind": kind, "input": "token_ids", "width": run.head.width},
            # gates.onnx's outputs: the update gate of each layer and direction.
            "gates": FORMATS[format].gate_outputs(run),
            # The column the run read its texts from (None: "text").
            "text_column": run.config.text_column,
        }
    else:
        units = [layer.cell.units for layer in run.model.backbone.recurrent_layers]
        facts = {
            "graph": {
                "kind": kind,
                "input": ["token", *(f"state_{i}" for i in range(len(units)))],
                "output": ["logits", *(f"new_state_{i}" for i in range(len(units)))],
                "state_units": units,
            }
        }
    return {
        "export_format": runtime.EXPORT_FORMAT,
        "format": format,
        "task": run.task.name,
        **facts,
        "tokenizer_fingerprint": run.tokenizer.fingerprint,
        "source": {
            "run": str(Path(run.path).resolve()),
            "model_sha256": _sha256(Path(run.path) / "model.keras"),
        },
        "textgru_version": __version__,
    }


def _write_manifest(folder):
    _manifest.write(folder, runtime.KIND, export_format=runtime.EXPORT_FORMAT)


def _sha256(path):
    try:
        return sha256_of(path)
    except OSError:
        return None


def check_out(out, overwrite=False):
    """Refuse, in one line, an `out` that `export` would not write: a link,
    a file, or a folder there already (without `overwrite`, or one that is
    not an export). Cheap: `textgru export` asks before TensorFlow loads."""
    _check_out(Path(out), overwrite)


def _check_out(out, overwrite):
    if out.is_symlink():
        raise RunError(f"--out {out} is a symbolic link; name a new folder")
    if not out.exists():
        return
    if not out.is_dir():
        raise RunError(f"--out {out} is a file; name a new folder")
    if not overwrite:
        raise RunError(f"{out} already exists; pass --overwrite to replace it")
    if any(out.iterdir()):
        runtime.check_replaceable(out)
