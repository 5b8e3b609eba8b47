# ruff: noqa: I001 (the outline's imports stay as the docs show them)
"""The export-format contract of docs/architecture.md ("Adding an export
format") holds: a format written exactly as the outline shows (one class,
one registry line) exports a run from the command line, is checked against
the run before it is finished, loads with its manifest checked, answers as
the run does and serves over HTTP. The outline in the docs is the code
between the two marker lines below (checked here, word for word)."""

import json
import re
from pathlib import Path

import numpy as np

from tests.cli_output import one_line_error

# --- the outline in docs/architecture.md starts here ---
import keras

from textgru.deploy.formats import ExportFormat, register_format


class KerasFile(ExportFormat):
    """The run's model as a .keras file, read back by Keras."""

    name = "keras"  # textgru export --format keras; export.json "format"
    files = ("model.keras",)  # beside tokenizer.json, checked by the manifest

    def write(self, run, folder):
        run.model.save(folder / "model.keras")

    def engine(self, folder, files, threads=None):  # padded ids -> outputs, width
        model = keras.saving.load_model(folder / "model.keras")
        return model.predict_on_batch, model.output_shape[-1]


KERAS_FILE = register_format(KerasFile())  # the registry line
# --- the outline in docs/architecture.md ends here ---

DOCS = Path(__file__).parents[1] / "docs" / "architecture.md"


def test_the_docs_outline_is_this_code():
    source = Path(__file__).read_text(encoding="utf-8")
    outline = re.search(r"starts here ---\n(.*?)# --- the outline", source, re.S)
    block = r"```python\n# tests/test_adding_an_export_format.py\n(.*?)```"
    docs = re.search(block, DOCS.read_text(encoding="utf-8"), re.S)
    assert outline and docs, "the markers or the docs' block moved"
    assert docs.group(1).strip() == outline.group(1).strip()


def test_a_format_written_as_the_docs_show_exports_loads_and_serves(
    tiny_export, tmp_path, capsys
):
    from tests.local_server import serving
    from tests.shipping import assert_close
    from tests.test_serve import _post
    from textgru import cli
    from textgru.deploy import runtime
    from textgru.deploy.server import make_app

    run, _ = tiny_export
    out = tmp_path / "keras-export"
    assert (
        cli.main(["export", str(run.path), "--out", str(out), "--format", "keras"]) == 0
    )
    capsys.readouterr()
    spec = json.loads((out / "export.json").read_text())
    assert spec["format"] == "keras" and spec["checked"]["largest_difference"] <= 1e-5
    assert "model.keras" in json.loads((out / "manifest.json").read_text())["files"]
    exported = runtime.load_export(out)
    texts = ["a good fun film", "a dull boring plot", "film"]
    np.testing.assert_allclose(
        exported.predict_proba(texts), run.predict_proba(texts), rtol=0, atol=1e-5
    )
    assert not exported.concurrent  # a Keras model answers one request at a time
    with serving(make_app(exported), log_config=None) as (url, _):
        status, body = _post(url + "/predict", {"texts": texts}, key=None)
    assert status == 200
    assert_close(body["predictions"], run.predict(texts))

    # Its file changed after the export: refused by the manifest, in one line.
    (out / "model.keras").write_bytes(b"not a model")
    code = cli.main(["predict", str(out), "a text"])
    assert "is not the file this export wrote" in one_line_error(capsys, code)
