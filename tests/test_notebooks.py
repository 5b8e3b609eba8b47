"""The notebooks are documentation that runs: each is executed at its smoke
size (TEXTGRU_SMOKE=1) and must finish without an error and show its figures."""

import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = [
    "01_gru_from_equations",
    "02_sentiment",
    "03_language_model",
    "04_your_own_cell",
]


def _notebook(name):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_every_notebook_is_tested_and_committed_clean():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED
    for name in EXPECTED:
        notebook = _notebook(name)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
                # The public API only: no private modules or names.
                assert not re.search(r"textgru[\w.]*\._|import _", cell.source), name


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs(name, tmp_path, builtin_home, monkeypatch):
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    monkeypatch.setenv("TEXTGRU_SMOKE", "1")
    notebook = _notebook(name)
    # The kernel talks over files in tmp_path, not TCP ports: a port it
    # picked could be taken by another test's process before it bound it
    # ("Address already in use", seen in a clean CI run).
    kernel = KernelManager(
        kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel")
    )
    client = NotebookClient(
        notebook,
        km=kernel,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # runs/ goes there
    )
    client.execute()  # raises CellExecutionError on any error
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    plotting_cells = [
        c for c in notebook.cells if c.cell_type == "code" and "plots." in c.source
    ]
    assert len(figures) == len(plotting_cells) > 0
