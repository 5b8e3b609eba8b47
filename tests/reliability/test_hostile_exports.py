"""Hostile export folders: what loading one (`textgru.load`, `textgru
predict EXPORT`) and replacing one (`textgru export --overwrite`) must
refuse in one line, leaving nothing run, read whole or lost: a SavedModel
(a program) without --trust-code, a graph onnxruntime cannot run, a pipe
or an oversized file in the folder, a manifest that is a link, damaged
facts, and a folder that is not an export."""

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.cli_output import one_line_error, without
from textgru import cli
from textgru.deploy import exporter, runtime
from textgru.errors import ExportIntegrityError, RunError, UntrustedCodeError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def run(tiny_export):
    return tiny_export[0]


@pytest.fixture(scope="module")
def exported(tiny_export):
    return tiny_export[1]


def _copy(exported, where):
    shutil.copytree(exported.path, where)
    return where


def _refit(folder, name, data):
    """Write `data` as `folder/name` and make the manifest fit it, as anyone
    who can edit the folder can."""
    (folder / name).write_bytes(data)
    path = folder / runtime.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"][name] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    path.write_text(json.dumps(manifest))


def _graph(nodes, initializers=(), domains=()):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "hostile",
        [helper.make_tensor_value_info("token_ids", TensorProto.INT32, [None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        list(initializers),
    )  # fmt: skip
    opsets = [helper.make_opsetid(domain, 1) for domain in domains]
    opsets.insert(0, helper.make_opsetid("", 17))
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def _external(location):
    from onnx import TensorProto, numpy_helper

    tensor = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def _hostile_graphs(folder):
    from onnx import helper

    (folder.parent / "secret.bin").write_bytes(b"s" * 64)
    (folder / "weights.bin").write_bytes(b"w" * 64)
    cast = helper.make_node("Cast", ["token_ids"], ["x"], to=1)
    add = helper.make_node("Add", ["x", "w"], ["y"])
    return {
        "a custom op": _graph(
            [helper.make_node("Exec", ["token_ids"], ["y"], domain="com.evil")],
            domains=["com.evil"],
        ),
        "an onnxruntime-extensions op": _graph(
            [
                helper.make_node(
                    "StringRegexReplace", ["token_ids"], ["y"], domain="ai.onnx.contrib"
                )
            ],  # fmt: skip
            domains=["ai.onnx.contrib"],
        ),
        "absolute external data": _graph(
            [cast, add], [_external(str(folder.parent / "secret.bin"))]
        ),
        "external data above": _graph([cast, add], [_external("../secret.bin")]),
        "external data beside": _graph([cast, add], [_external("weights.bin")]),
        "random bytes": np.random.default_rng(0).bytes(4096),
    }


def test_a_graph_onnxruntime_cannot_run_is_one_line(exported, tmp_path, capsys):
    for index, (what, data) in enumerate(
        _hostile_graphs(_copy(exported, tmp_path / "probe")).items()
    ):
        copy = _copy(exported, tmp_path / f"graph-{index}")
        (copy / "weights.bin").unlink(missing_ok=True)
        _refit(copy, "model.onnx", data)
        with pytest.raises(ExportIntegrityError, match="not a graph textgru's onnx"):
            runtime.load_export(copy)
        assert cli.main(["predict", str(copy), "a text"]) == 2, what
        line = one_line_error(capsys, 2)
        assert "model.onnx is not a graph" in line and "export the run again" in line


def test_a_pipe_in_an_export_is_refused_without_waiting(exported, tmp_path):
    for name in ("model.onnx", "export.json", "manifest.json"):
        copy = _copy(exported, tmp_path / name)
        (copy / name).unlink()
        os.mkfifo(copy / name)
        with pytest.raises(RunError, match="not a plain file"):
            runtime.load_export(copy)


def test_an_oversized_graph_is_refused_before_it_is_read(exported, tmp_path):
    copy = _copy(exported, tmp_path / "sparse")
    with open(copy / "model.onnx", "r+b") as file:
        file.truncate(1536 << 20)  # 1.5 GB, sparse: nothing written
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ExportIntegrityError, match="model.onnx is not the file"):
        runtime.load_export(copy)
    # Refitted to its size (only its checksum differs): hashed in blocks,
    # still never held whole.
    entry = {"sha256": "0" * 64, "bytes": 1536 << 20}
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["model.onnx"] = entry
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportIntegrityError, match="model.onnx is not the file"):
        runtime.load_export(copy)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert grown < 256 << 10, f"the peak grew by {grown >> 10} MiB"


def test_a_manifest_that_links_to_an_identical_file_is_refused(exported, tmp_path):
    copy = _copy(exported, tmp_path / "linked")
    outside = tmp_path / "manifest.json"
    shutil.copy(copy / "manifest.json", outside)
    (copy / "manifest.json").unlink()
    (copy / "manifest.json").symlink_to(outside)
    with pytest.raises(ExportIntegrityError, match="manifest.json is a link"):
        runtime.load_export(copy)


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda spec: spec["preprocessing"].update(batch_size=0), "batch_size is 0"),
        (lambda spec: spec["preprocessing"].update(batch_size=True), "batch_size"),
        (lambda spec: spec["preprocessing"].update(add_eos="no"), "add_eos"),
        (lambda spec: spec["head"].update(label_names="xy"), "not a list of strings"),
        (lambda spec: spec["head"].update(label_names=["x", "x"]), "twice"),
    ],
)
def test_damaged_facts_are_one_line(exported, tmp_path, capsys, change, says):
    copy = _copy(exported, tmp_path / "facts")
    spec = json.loads((copy / "export.json").read_text())
    change(spec)
    _refit(copy, "export.json", json.dumps(spec).encode())
    assert cli.main(["predict", str(copy), "a text"]) == 2
    line = one_line_error(capsys, 2)
    assert "export.json is damaged" in line and says in line


def test_a_format_1_export_with_a_string_for_its_labels_is_refused(tmp_path):
    from tests.reliability.test_old_runs import OLD_EXPORTS

    copy = shutil.copytree(OLD_EXPORTS / "classify", tmp_path / "old")
    spec = json.loads((copy / "export.json").read_text())
    spec["label_names"] = "xy"
    _refit(copy, "export.json", json.dumps(spec).encode())
    with pytest.raises(ExportIntegrityError, match="not a list of strings"):
        runtime.load_export(copy)


def test_a_saved_model_loads_only_with_trust(run, tmp_path, capsys):
    out = tmp_path / "saved"
    exporter.export(run, out, format="tf_saved_model")  # its own: read back
    with pytest.raises(UntrustedCodeError, match="--trust-code"):
        runtime.load_export(out)
    for command in (["predict", str(out), "a text"], ["serve", str(out)]):
        assert cli.main(command) == 2
        line = one_line_error(capsys, 2)
        assert "is a program" in line and "--trust-code" in line
    assert cli.main(["predict", str(out), "--trust-code", "a text"]) == 0
    assert capsys.readouterr().out.strip()


def test_overwrite_replaces_only_a_folder_that_is_an_export(
    run, exported, tmp_path, capsys
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "export.json").write_text("{}")
    (mine / "thesis.txt").write_text("years of work")
    # An export's own files beside one of the user's are not an export either.
    beside = _copy(exported, tmp_path / "beside")
    (beside / "notes").mkdir()
    (beside / "notes" / "thesis.txt").write_text("years of work")
    for folder in (mine, beside):
        argv = ["export", str(run.path), "--out", str(folder), "--overwrite"]
        assert cli.main(argv) == 2
        line = one_line_error(capsys, 2)
        assert "replaces only an export textgru wrote" in line
    assert (mine / "thesis.txt").read_text() == "years of work"
    assert (beside / "notes" / "thesis.txt").read_text() == "years of work"
    # A real export is replaced.
    again = _copy(exported, tmp_path / "again")
    assert exporter.export(run, again, overwrite=True).predict(["a text"])


# An install of the export's runtime alone (onnxruntime, tokenizers, NumPy,
# FastAPI): the training stack cannot be imported.
NO_STACK = (
    without("tensorflow", "keras", "jax", "torch", "datasets", "onnx")
    + """
import json
from textgru import cli
codes = [cli.main(json.loads(argv)) for argv in sys.argv[1:]]
print(json.dumps(codes))
"""
)


def test_errors_of_an_export_only_install_are_one_line(run, exported, tmp_path):
    tampered = _copy(exported, tmp_path / "tampered")
    (tampered / "model.onnx").write_bytes(b"not the graph")
    bare = _copy(exported, tmp_path / "bare")
    (bare / "manifest.json").unlink()
    commands = [
        ["predict", str(tampered), "a text"],
        ["predict", str(bare), "a text"],
        ["predict", str(exported.path), "--input", str(tmp_path / "none.csv"),
         "--output", str(tmp_path / "out.csv")],
        ["serve", str(tampered), "--port", "0"],
        # A refused export says so before the training stack would load.
        ["export", str(run.path), "--out", str(exported.path)],
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", NO_STACK, *map(json.dumps, commands)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert json.loads(result.stdout.splitlines()[-1]) == [2] * len(commands), (
        result.stderr[-3000:]
    )
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == len(commands), result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "ImportError" not in result.stderr
    assert "checksum differs" in errors[0] and "no manifest.json" in errors[1]
    assert "none.csv" in errors[2] and "already exists" in errors[4]


def test_threads_answer_alike_and_a_bad_count_is_one_line(exported, capsys):
    from textgru.deploy import BatchPredictor

    texts = ["good fun film", "a dull plot"]
    one = runtime.load_export(exported.path, threads=1)
    np.testing.assert_allclose(one.outputs(texts), exported.outputs(texts), atol=1e-6)
    labelled = BatchPredictor(exported.path, threads=1)({"text": texts})
    assert list(labelled["label"]) == [a["label"] for a in exported.predict(texts)]
    path = str(exported.path)
    assert cli.main(["predict", path, "--threads", "1", *texts]) == 0
    assert capsys.readouterr().out.count("\n") == 2
    assert cli.main(["predict", path, "--threads", "0", "a text"]) == 2
    assert "Expected --threads to be a positive integer" in one_line_error(capsys, 2)
