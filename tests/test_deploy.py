"""Exports (`textgru.deploy`): the ONNX graph computes what the Keras model
does over the configurations the recipes build, a run's export predicts as
the run does (in a process where TensorFlow and Keras cannot be imported),
a tampered export is refused, and what the graph cannot express is refused
in one line."""

import json
import subprocess
import sys
import urllib.request

import keras
import numpy as np
import pytest

import textgru
from tests.cli_output import one_line_error, without
from tests.tiny import TINY
from textgru.deploy import exporter, formats, runtime
from textgru.deploy.onnx_graph import text_graph
from textgru.errors import (
    ExportError,
    ExportIntegrityError,
    RunError,
    UntrustedCodeError,
)
from textgru.layers import MGUCell
from textgru.models import build_classifier
from textgru.tasks import ClassifierConfig, train_classifier

ort = pytest.importorskip("onnxruntime")

TEXTS = ["good fun film", "a dull boring plot", "the actor", "superb lovely scene", ""]


def _onnx(model):
    session = ort.InferenceSession(text_graph(model).SerializeToString())
    return lambda ids: session.run(None, {"token_ids": ids})[0]


def _randomized(model, seed):
    """Random weights everywhere (biases too, so each one's place is checked)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0, 0.4, variable.shape).astype("float32"))
    return model


def _id_batch(rng, vocab_size, rows=6, width=9):
    """Right-padded ids of every length from 0 (a text with no token) to `width`."""
    lengths = [0, 1, width, *rng.integers(1, width + 1, size=rows - 3)]
    ids = np.zeros((rows, width), np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, vocab_size, size=length)
    return ids


CONFIGS = {
    "default form, both ways, max": dict(),
    "reset_after, both ways, concat": dict(reset_after=True, pooling="concat"),
    "one way, last, 3 classes": dict(bidirectional=False, pooling="last", classes=3),
    "stacked, reset_after, mean": dict(num_layers=2, reset_after=True, pooling="mean"),
    "stacked both ways, concat, 4 classes": dict(
        num_layers=2, pooling="concat", classes=4
    ),
    "one way stacked, max": dict(bidirectional=False, num_layers=3),
    "no mask, both ways, concat": dict(mask_zero=False, pooling="concat"),
    "no bias": dict(cell_kwargs={"use_bias": False}, pooling="concat"),
    "keras.layers.GRU, reset_after": dict(gru_class="keras", reset_after=True),
}


@pytest.mark.parametrize("options", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_graph_computes_what_the_model_does(options):
    options = dict(options)
    classes = options.pop("classes", 2)
    pooling = options.pop("pooling", "max")
    model = build_classifier(
        40, classes, embed_dim=6, units=5, pooling=pooling, **options
    )
    _randomized(model, seed=len(options))
    run = _onnx(model)
    rng = np.random.default_rng(0)
    for width in (1, 4, 9):
        ids = _id_batch(rng, 40, width=width)
        if not model.backbone.mask_zero:
            ids[:, 0] = np.maximum(ids[:, 0], 1)
        expected = np.asarray(model.predict_on_batch(ids))
        np.testing.assert_allclose(run(ids), expected, rtol=0, atol=1e-5)
    assert run(ids).shape == (len(ids), 1 if classes == 2 else classes)


@pytest.mark.parametrize("options", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_gate_graph_gives_what_gate_activations_gives(options):
    """Every layer and direction's update gate after each token, from ONNX's
    GRU states, equals textgru.interpret's step-by-step values."""
    from textgru.data import train_tokenizer
    from textgru.deploy.onnx_graph import gate_outputs, gates_graph
    from textgru.interpret import gate_activations

    options = {k: v for k, v in options.items() if k != "classes"}
    tokenizer = train_tokenizer(TEXTS * 3, vocab_size=40)
    model = build_classifier(tokenizer.vocab_size, 2, embed_dim=6, units=5, **options)
    _randomized(model, seed=7)
    session = ort.InferenceSession(gates_graph(model).SerializeToString())
    outputs = gate_outputs(model)
    layers = model.backbone.recurrent_layers
    assert len(outputs) == len(layers) * (2 if model.backbone.bidirectional else 1)
    for text in ("good fun film a dull boring plot", "the"):
        ids = np.asarray([tokenizer.encode(text)], np.int32)
        got = session.run([o["output"] for o in outputs], {"token_ids": ids})
        for entry, value in zip(outputs, got, strict=True):
            expected = gate_activations(
                model, text, tokenizer=tokenizer, layer=entry["layer"],
                direction=entry["direction"],
            )  # fmt: skip
            assert value.shape == (1, *expected.update.shape)
            np.testing.assert_allclose(value[0], expected.update, rtol=0, atol=1e-5)


def test_what_the_graph_cannot_compute_is_refused_in_one_line():
    from textgru.models.backbone import GRUBackbone
    from textgru.models.classifier import TextClassifier

    mgu = build_classifier(30, 2, embed_dim=4, units=3, cell=MGUCell)
    with pytest.raises(ExportError, match="MGUCell.*--format tf_saved_model"):
        text_graph(mgu)
    relu = TextClassifier(
        GRUBackbone(30, embed_dim=4, units=3, cell_kwargs={"activation": "relu"}), 2
    )
    with pytest.raises(ExportError, match="activations.*tf_saved_model"):
        text_graph(relu)
    keras.config.set_dtype_policy("mixed_bfloat16")
    half = build_classifier(30, 2, embed_dim=4, units=3)
    keras.config.set_dtype_policy("float32")
    with pytest.raises(ExportError, match="computes in bfloat16"):
        text_graph(half)


@pytest.fixture(scope="module")
def run(reviews, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy") / "run"
    config = ClassifierConfig(dataset=reviews, out=str(out), **TINY)
    return train_classifier(config, verbose=0)


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy") / "export"
    return exporter.export(run.path, out)


def test_an_export_predicts_as_its_run(run, exported):
    names = sorted(p.name for p in exported.path.iterdir())
    assert names == [
        "export.json", "gates.onnx", "manifest.json", "model.onnx", "tokenizer.json"
    ]  # fmt: skip
    spec = json.loads((exported.path / "export.json").read_text())
    assert spec["head"]["label_names"] == run.label_names == exported.label_names
    assert spec["task"] == "classify" and spec["graph"]["kind"] == "outputs"
    assert spec["checked"]["largest_difference"] <= exporter.TOLERANCE
    assert spec["checked"]["gates"] <= exporter.TOLERANCE
    assert spec["preprocessing"]["max_length"] == run.config.max_length
    # Reading it is textgru.load's job too; and texts of every length.
    loaded = textgru.load(exported.path)
    texts = exporter.probe_texts(run.tokenizer, run.config.max_length, 90, seed=5)
    np.testing.assert_allclose(
        loaded.predict_proba(texts + TEXTS),
        run.predict_proba(texts + TEXTS),
        rtol=0,
        atol=1e-5,
    )
    # In any batch size (onnxruntime gets at most ENGINE_BATCH texts at once).
    assert len(texts) > formats.ENGINE_BATCH == loaded.engine_batch
    np.testing.assert_allclose(
        loaded.predict_proba(texts, batch_size=len(texts)),
        run.predict_proba(texts, batch_size=7),
        rtol=0,
        atol=1e-5,
    )
    ours, theirs = loaded.predict(TEXTS), run.predict(TEXTS)
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    assert ours[0]["text"] == TEXTS[0] and set(ours[0]["probabilities"]) == {
        "neg",
        "pos",
    }


def test_an_exports_update_gates_are_the_runs(run, exported):
    from tests.expected_gates import assert_update_gates
    from textgru.errors import InvalidArgumentError

    text = "good fun film, a dull boring plot and " + " ".join(["the actor"] * 20)
    found = exported.update_gates(text)
    assert len(found["tokens"]) == run.config.max_length  # cut as the run cuts
    assert_update_gates(found, run, text)
    for bad in ("", ["a list"]):
        with pytest.raises(InvalidArgumentError, match="Expected"):
            exported.update_gates(bad)


def test_predict_on_an_export_prints_what_the_run_prints(run, exported, capsys):
    from textgru import cli

    for folder in (run.path, exported.path):
        assert cli.main(["predict", str(folder), "--json", *TEXTS[:4]]) == 0
    out = capsys.readouterr().out.splitlines()
    ours, theirs = (
        [json.loads(line) for line in out[4:]],
        [json.loads(line) for line in out[:4]],
    )
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    for mine, yours in zip(ours, theirs, strict=True):
        assert abs(mine["probability"] - yours["probability"]) <= 1e-5


# Run in a new process where importing any of these fails, as on a machine
# with only onnxruntime, tokenizers and NumPy.
_NO_STACK = (
    without("tensorflow", "keras", "jax", "torch", "datasets", "matplotlib")
    + """
import json, textgru, textgru_cli
run = textgru.load(sys.argv[1])
print(json.dumps(run.predict_proba(json.loads(sys.argv[2])).tolist()))
code = textgru_cli.main(["predict", sys.argv[1], "--json", "good fun film"])
heavy = sorted(set(BLOCKED) & {name.split(".")[0] for name in sys.modules})
print(json.dumps({"code": code, "heavy": heavy}))
"""
)


def test_an_export_predicts_where_tensorflow_and_keras_cannot_be_imported(
    run, exported
):
    result = subprocess.run(
        [sys.executable, "-c", _NO_STACK, str(exported.path), json.dumps(TEXTS)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    np.testing.assert_allclose(
        json.loads(lines[0]), run.predict_proba(TEXTS), rtol=0, atol=1e-5
    )
    assert json.loads(lines[1])["label"] == run.predict(["good fun film"])[0]["label"]
    assert json.loads(lines[2]) == {"code": 0, "heavy": []}


def _copy(exported, tmp_path):
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(exported.path, target)
    return target


def test_a_tampered_export_is_refused(exported, tmp_path, capsys):
    from textgru import cli

    copy = _copy(exported, tmp_path)
    graph = bytearray((copy / "model.onnx").read_bytes())
    graph[-5] ^= 1
    (copy / "model.onnx").write_bytes(bytes(graph))
    with pytest.raises(ExportIntegrityError, match="model.onnx is not the file"):
        runtime.load_export(copy)
    assert cli.main(["predict", str(copy), "a text"]) == 2
    assert "checksum differs" in one_line_error(capsys, 2)

    copy = _copy(exported, tmp_path / "b")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["../model.onnx"] = manifest["files"].pop("model.onnx")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportIntegrityError, match="not a file of the export"):
        runtime.load_export(copy)
    del manifest["files"]["../model.onnx"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportIntegrityError, match="does not list model.onnx"):
        runtime.load_export(copy)

    # An export.json edited and its manifest made to fit: damaged, or not
    # this graph's, each in one line.
    import hashlib

    changes = [
        (lambda spec: spec["head"].pop("label_names"), "export.json is damaged"),
        (lambda spec: spec["head"].update(label_names=["a", "b", "c"]), "not fit"),
        (lambda spec: spec["head"].update(name="poetry"), "export.json is damaged"),
        (lambda spec: spec["preprocessing"].update(max_length=0), "is damaged"),
    ]
    for index, (change, says) in enumerate(changes):
        copy = _copy(exported, tmp_path / f"spec-{index}")
        spec = json.loads((copy / "export.json").read_text())
        change(spec)
        data = json.dumps(spec).encode()
        (copy / "export.json").write_bytes(data)
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["files"]["export.json"] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
        (copy / "manifest.json").write_text(json.dumps(manifest))
        assert cli.main(["predict", str(copy), "a text"]) == 2
        assert says in one_line_error(capsys, 2)

    copy = _copy(exported, tmp_path / "c")
    (copy / "tokenizer.json").unlink()
    (copy / "tokenizer.json").symlink_to(exported.path / "tokenizer.json")
    with pytest.raises(ExportIntegrityError, match="is a link"):
        runtime.load_export(copy)


def test_export_refuses_what_it_cannot_write_and_leaves_nothing(
    run, exported, reviews, tmp_path, capsys
):
    from textgru import cli

    with pytest.raises(RunError, match="already exists; pass --overwrite"):
        exporter.export(run, exported.path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="replaces only an export"):
        exporter.export(run, tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"

    config = ClassifierConfig(
        dataset=reviews, out=str(tmp_path / "mgu"), cell=MGUCell,
        **{**TINY, "epochs": 1},
    )  # fmt: skip
    mgu = train_classifier(config, verbose=0)
    out = tmp_path / "mgu-export"
    assert cli.main(["export", str(mgu.path), "--out", str(out)]) == 2
    line = one_line_error(capsys, 2)
    assert "MGUCell" in line and "--format tf_saved_model" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mgu", "mine"]
    # What ONNX cannot express, TensorFlow's SavedModel can.
    saved = exporter.export(mgu, out, format="tf_saved_model")
    np.testing.assert_allclose(
        saved.predict_proba(TEXTS), mgu.predict_proba(TEXTS), rtol=0, atol=1e-5
    )


def test_a_saved_model_export_serves_token_ids(run, tmp_path):
    import tensorflow as tf

    saved = exporter.export(run, tmp_path / "saved", format="tf_saved_model")
    # A SavedModel is a program: loaded only when trusted.
    with pytest.raises(UntrustedCodeError, match="--trust-code"):
        textgru.load(saved.path)
    trusted = textgru.load(saved.path, trust_code=True)
    assert isinstance(trusted, runtime.ExportedClassifier)
    loaded = tf.saved_model.load(str(saved.path / "saved_model"))
    serve = loaded.signatures["serving_default"]
    ids = run.preprocessor.pad(run.preprocessor.encode_batch(TEXTS))
    (probabilities,) = serve(tf.constant(ids)).values()
    np.testing.assert_allclose(
        probabilities.numpy(), run.model.predict_on_batch(ids), rtol=0, atol=1e-6
    )


def test_serving_benchmark_runs(run, capsys):
    """benchmarks/serving.py at a tiny size (its figures are measured by hand)."""
    from .test_benchmarks import _load

    result = _load("serving").main(
        ["--run", str(run.path), "--runs", "0", "--serve-runs", "1", "--texts", "12",
         "--batch", "1", "8", "--clients", "2", "--requests", "3", "--threads", "1",
         "--slow", "5", "--header-timeout", "1"]
    )  # fmt: skip
    assert result["texts"] == 12
    assert 0 < result["serve_cold_start_s"] < 60
    for name in ("run (TensorFlow)", "export (onnxruntime)"):
        p50, p99 = result["latency_ms"][name]
        assert 0 < p50 <= p99
        assert all(rate > 0 for rate in result["texts_per_s"][name].values())
    p50, p99, rate = result["http"][1][2]
    assert 0 < p50 <= p99 and rate > 0
    slow = result["http"][1]["slow"]
    assert slow["cut"] == 5 and slow["last_cut_s"] is not None
    assert slow["honest"][2] > 0
    out = capsys.readouterr().out
    assert "5 of 5 slow ones cut" in out
    assert "| batch 8, texts/s |" in out and "| clients |" in out
    assert "its first answer" in out


LM_CONFIGS = {
    "two layers, own output": dict(num_layers=2),
    "tied, with a projection, reset_after": dict(tie_embeddings=True, reset_after=True),
    "tied, units = embed_dim": dict(tie_embeddings=True, units=6),
    "stateful, keras.layers.GRU": dict(stateful=True, batch_size=3, gru_class="keras"),
}


@pytest.mark.parametrize("options", LM_CONFIGS.values(), ids=LM_CONFIGS.keys())
def test_the_step_graph_computes_the_language_models_steps(options):
    from textgru.deploy.onnx_graph import language_model_step_graph
    from textgru.models import build_language_model
    from textgru.models.generation import compiled_step, step_model

    options = {"embed_dim": 6, "units": 5, **options}
    model = _randomized(build_language_model(30, **options), seed=3)
    session = ort.InferenceSession(language_model_step_graph(model).SerializeToString())
    step = step_model(model)
    call = compiled_step(step)
    ours = [np.zeros((3, s.shape[-1]), np.float32) for s in step.inputs[1:]]
    theirs = list(ours)
    rng = np.random.default_rng(1)
    for _ in range(6):
        tokens = rng.integers(0, 30, 3).astype(np.int32)
        expected, *ours = (np.asarray(x) for x in call(tokens, ours))
        feed = {"token": tokens, **{f"state_{i}": s for i, s in enumerate(theirs)}}
        got, *theirs = session.run(None, feed)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
        for mine, yours in zip(theirs, ours, strict=True):
            np.testing.assert_allclose(mine, yours, rtol=0, atol=1e-6)


def test_a_language_model_export_generates_as_its_run(corpus, tmp_path, capsys):
    from tests.tiny import TINY_LM
    from textgru import cli
    from textgru.tasks import LanguageModelConfig, train_language_model

    config = LanguageModelConfig(dataset=corpus, out=str(tmp_path / "lm"), **TINY_LM)
    lm = train_language_model(config, verbose=0)
    with pytest.raises(ExportError, match="onnx only"):
        exporter.export(lm, tmp_path / "saved", format="tf_saved_model")
    exported = exporter.export(lm.path, tmp_path / "export")
    assert isinstance(textgru.load(exported.path), runtime.ExportedLanguageModel)
    for options in (
        dict(seed=3, temperature=0.8),
        dict(temperature=0),
        dict(seed=1, top_k=5, num_samples=3),
    ):
        assert exported.generate("good film", max_new_tokens=15, **options) == (
            lm.generate("good film", max_new_tokens=15, **options)
        )
    flags = ["--prompt", "the", "--seed", "2", "--max-new-tokens", "8"]
    for folder in (lm.path, exported.path):
        assert cli.main(["generate", str(folder), *flags]) == 0
    run_text, export_text = capsys.readouterr().out.splitlines()
    assert run_text == export_text
    assert cli.main(["predict", str(exported.path), "a text"]) == 2
    assert "generates text rather than answering it" in one_line_error(capsys, 2)

    # POST /generate: the same text as `textgru generate` for the same seed,
    # from the export and from the run, its length bounded by the server.
    from tests.local_server import serving
    from tests.test_serve import _post
    from textgru.deploy.server import make_app

    body = {"prompt": "the", "seed": 2, "max_new_tokens": 8}
    for model in (exported, lm):
        app = make_app(model, max_new_tokens=20)
        with serving(app, log_config=None) as (url, _):
            status, answer = _post(url + "/generate", body, key=None)
            assert status == 200, answer
            assert answer["prompt"] + answer["text"] == run_text
            status, answer = _post(url + "/generate", {"max_new_tokens": 21}, key=None)
            assert status == 422 and "at most 20" in json.dumps(answer)
            status, answer = _post(url + "/predict", {"texts": ["a"]}, key=None)
            assert status == 404  # a language model answers no texts
            with urllib.request.urlopen(url + "/health", timeout=10) as response:
                assert json.loads(response.read())["task"] == "lm"


def _write_texts(path, texts, column="review"):
    """`texts` in the file `path`, in the format its extension names."""
    if path.suffix == ".csv":
        import csv

        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["id", column])
            writer.writerows(enumerate(texts))
    elif path.suffix == ".jsonl":
        lines = [json.dumps({"id": i, column: t}) for i, t in enumerate(texts)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as parquet

        parquet.write_table(pa.table({"id": range(len(texts)), column: texts}), path)
    return path


def _read_labels(path, column="text"):
    """(texts, labels, probability rows) of a labelled file (the texts in
    `column`)."""
    if path.suffix == ".csv":
        import csv

        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        columns = [c for c in rows[0] if c.startswith("p_")]
        return (
            [r[column] for r in rows],
            [r["label"] for r in rows],
            np.array([[float(r[c]) for c in columns] for r in rows]),
        )
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        return (
            [r[column] for r in rows],
            [r["label"] for r in rows],
            np.array([list(r["probabilities"].values()) for r in rows]),
        )
    import pyarrow.parquet as parquet

    table = parquet.read_table(path).to_pydict()
    columns = [c for c in table if c.startswith("p_")]
    return table[column], table["label"], np.array([table[c] for c in columns]).T


def _kept_ids(path):
    """The `id` column of a labelled file, as ints, after checking it comes
    first."""
    if path.suffix == ".csv":
        import csv

        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    elif path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    else:
        import pyarrow.parquet as parquet

        rows = parquet.read_table(path).to_pylist()
    assert list(rows[0])[:2] == ["id", "review"], list(rows[0])
    return [int(row["id"]) for row in rows]


@pytest.mark.parametrize(
    "source, target", [(".csv", ".parquet"), (".jsonl", ".csv"), (".parquet", ".jsonl")]
)
def test_a_file_is_labelled_row_by_row_in_chunks(
    run, exported, tmp_path, source, target
):
    from textgru.deploy.labelling import label_file

    texts = exporter.probe_texts(run.tokenizer, run.config.max_length, 45, seed=2)
    texts[3] = 'a "quoted", text\nover two lines, café'
    path = _write_texts(tmp_path / f"in{source}", texts)
    for model in (exported, run):
        out = tmp_path / f"{type(model).__name__}{target}"
        stats = label_file(model, path, out, text_column="review", chunk=7)
        assert stats["texts"] == len(texts) and stats["texts_per_s"] > 0
        got_texts, labels, probabilities = _read_labels(out, "review")
        assert got_texts == texts
        # The input's columns come first, its id among them, so rows join back.
        assert _kept_ids(out) == list(range(len(texts)))
        expected = run.predict_proba(texts)
        np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-5)
        assert labels == [run.label_names[i] for i in expected.argmax(1)]


def test_labelling_errors_are_one_line_and_leave_no_output(exported, tmp_path, capsys):
    from textgru import cli

    texts = ["good film"] * 30 + [None] + ["dull plot"] * 5
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": t}) for t in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    base = ["predict", str(exported.path), "--input", str(path), "--output", str(out)]
    assert cli.main(base) == 2  # chunks of 4096: fails before the first write
    assert "Row 31 has no text" in one_line_error(capsys, 2)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jsonl"
    ]
    path.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    assert cli.main(base) == 0
    assert len(_read_labels(out)[0]) == 30
    assert cli.main(base) == 2
    assert "already exists; pass --overwrite" in one_line_error(capsys, 2)
    assert cli.main([*base, "--overwrite", "--text-column", "review"]) == 2
    assert "no 'review' field" in one_line_error(capsys, 2)
    assert len(_read_labels(out)[0]) == 30  # the old output is untouched
    assert cli.main([*base[:-2], "--output", str(tmp_path / "out.txt")]) == 2
    assert "end in .csv, .jsonl or .parquet" in one_line_error(capsys, 2)
    assert cli.main([*base, "--overwrite", "a text"]) == 2
    assert "go together" in one_line_error(capsys, 2)


def test_a_failure_after_some_chunks_leaves_no_output(exported, tmp_path):
    from textgru.deploy.labelling import label_file
    from textgru.errors import DatasetError

    path = _write_texts(tmp_path / "in.csv", ["good film"] * 20 + [""] * 3, "text")
    path.write_text(path.read_text() + "99\n", encoding="utf-8")  # a row short a text
    with pytest.raises(DatasetError, match="Row 25 has no text"):
        label_file(exported, path, tmp_path / "out.parquet", chunk=4)
    assert not (tmp_path / "out.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_label_file_benchmark_runs(exported, capsys):
    """benchmarks/label_file.py at a tiny size (its figures are measured by hand)."""
    from .test_benchmarks import _load

    result = _load("label_file").main(
        ["--export", str(exported.path), "--texts", "300"]
    )
    assert result["all"]["texts"] == 300 and result["small"]["texts"] == 30
    assert result["all"]["peak_rss_mib"] > 0 and result["in_process_texts_per_s"] > 0
    for measured in ("threads_1", "threads_2", "processes_2"):
        assert result[measured]["texts"] == 300
        assert result[measured]["texts_per_s"] > 0
    out = capsys.readouterr().out
    assert "| 300 |" in out and "| 300, --threads 2 |" in out
    assert "in 2 processes at once" in out
