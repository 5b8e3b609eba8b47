"""Your own cell through the recipes: the `cell` config field and `--cell`,
recorded in config.json; runs that reload in a new process when the cell's
module is importable and fail in one line when it is not; `--from-lm`
following the language model's cell; generation and gate plots."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.cli_output import ENTRY
from tests.tiny import NEGATIVE, POSITIVE, TINY, TINY_LM, labelled_rows, write_csv
from textgru import cli
from textgru.errors import InvalidArgumentError
from textgru.interpret.gates import gate_activations
from textgru.layers import MGUCell
from textgru.tasks import ClassifierConfig, LanguageModelConfig
from textgru.tasks.classification import ClassifierRun
from textgru.tasks.language_modeling import LanguageModelRun, train_language_model
from textgru.training.config import as_flags

# A user's own cell in a module of their own: a GRU whose update gate is tied
# to the reset gate (z = 1 - r).
USER_MODULE = """
import keras
import textgru


@keras.saving.register_keras_serializable(package="mycells")
class TiedGRUCell(textgru.GRUCell):
    def gate_values(self, inputs, h_tm1, weights, training=False):
        values = super().gate_values(inputs, h_tm1, weights, training)
        z = 1.0 - values.reset
        state = values.candidate + z * (h_tm1 - values.candidate)
        return values._replace(update=z, state=state)


class Unregistered(textgru.GRUCell):
    pass
"""


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    (folder / "mycells.py").write_text(USER_MODULE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop("mycells", None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rows = labelled_rows(np.random.default_rng(4), 240, [NEGATIVE, POSITIVE])
    return write_csv(tmp_path_factory.mktemp("data") / "d.csv", rows, ["neg", "pos"])


@pytest.fixture(scope="module")
def tied_run(user_module, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tied"
    flags = as_flags({**TINY, "epochs": 1})
    code = cli.main(
        ["train", "classify", "--dataset", data, "--out", str(out), *flags]
        + ["--cell", "mycells:TiedGRUCell"]
    )
    assert code == 0
    return out


def _python(code, *, pythonpath=None):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_the_cell_is_recorded_and_used(tied_run):
    info = json.loads((tied_run / "config.json").read_text())
    assert info["config"]["cell"] == "mycells:TiedGRUCell"
    run = ClassifierRun.load(tied_run)
    layer = run.model.backbone.recurrent_layers[0]
    assert type(layer.forward_layer.cell).__name__ == "TiedGRUCell"
    assert type(layer.backward_layer.cell).__name__ == "TiedGRUCell"
    acts = gate_activations(run, "good film")
    np.testing.assert_allclose(acts.update, 1.0 - acts.reset, atol=1e-6)


def test_the_run_reloads_in_a_new_process_with_its_module(tied_run, user_module):
    """Importable is not enough: the module is imported by the user (first),
    or by the run with trust_code=True; else the load is refused before any
    import (issue 28)."""
    texts = ["good fun film", "dull weak plot"]
    expected = ClassifierRun.load(tied_run).predict_proba(texts)
    result = _python(
        f"""
        import sys
        import numpy as np
        from textgru.errors import UntrustedCodeError
        from textgru.tasks.classification import ClassifierRun
        try:
            ClassifierRun.load({str(tied_run)!r})
        except UntrustedCodeError as error:
            assert "mycells" not in sys.modules, "imported before the refusal"
            print("refused:", error)
        for how in ("trust_code", "import"):
            if how == "import":
                sys.modules.pop("mycells")
                import mycells  # noqa: F401
            run = ClassifierRun.load({str(tied_run)!r}, trust_code=how == "trust_code")
            got = run.predict_proba({texts!r})
            np.testing.assert_allclose(got, np.array({expected.tolist()!r}), atol=1e-6)
            print("reloaded ok with", how)
        """,
        pythonpath=user_module,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("refused: ") and "trust_code=True" in lines[0]
    assert lines[1:] == ["reloaded ok with trust_code", "reloaded ok with import"]


def test_without_its_module_the_run_fails_in_one_line(tied_run, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", ENTRY, "predict", str(tied_run), "good"],
        capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if "textgru" in line]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(errors) == 1 and "'mycells'" in errors[0], result.stderr[-2000:]


@pytest.mark.parametrize(
    "cell, message",
    [
        ("mycells", "package.module:ClassName"),
        ("no_such_module:Cell", "Cannot import module 'no_such_module'"),
        ("mycells:Missing", "which is missing"),
        ("textgru.layers:GRU", "GRUCell subclass"),
        ("mycells:Unregistered", "Register Unregistered"),
    ],
)
def test_bad_cells_are_one_line_errors(user_module, data, tmp_path, cell, message):
    with pytest.raises(InvalidArgumentError, match=message) as info:
        ClassifierConfig(dataset=data, cell=cell)
    assert "\n" not in str(info.value)
    code = cli.main(["train", "classify", "--cell", cell, "--out", str(tmp_path / "r")])
    assert code == 2 and not (tmp_path / "r.partial").exists()


def test_the_class_itself_and_keras_gru_layer():
    assert ClassifierConfig(cell=MGUCell).cell == "textgru.layers:MGUCell"
    with pytest.raises(InvalidArgumentError, match="gru_layer='keras'"):
        ClassifierConfig(cell=MGUCell, gru_layer="keras")


@pytest.fixture(scope="module")
def mgu_lm(tmp_path_factory):
    rng = np.random.default_rng(1)
    words = NEGATIVE + POSITIVE
    lines = [" ".join(rng.choice(words, size=9)) for _ in range(300)]
    corpus = tmp_path_factory.mktemp("data") / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("runs") / "mgu-lm"
    config = LanguageModelConfig(
        dataset=str(corpus), out=str(out), cell=MGUCell, **TINY_LM
    )
    return train_language_model(config, verbose=0)


def test_a_language_model_with_mgu_generates_and_shows_its_gate(mgu_lm):
    run = LanguageModelRun.load(mgu_lm.path)
    assert run.config.cell == "textgru.layers:MGUCell"
    cells = {type(layer.cell) for layer in run.model.backbone.recurrent_layers}
    assert cells == {MGUCell}
    assert isinstance(run.generate("good", max_new_tokens=5, seed=0), str)
    acts = gate_activations(run, "good dull")
    assert acts.cell == "MGUCell" and acts.update is None
    assert acts.gates == ("reset", "candidate", "hidden")
    with pytest.raises(InvalidArgumentError, match="no update gate"):
        acts.gate("update")
    assert (mgu_lm.path / "gates.png").exists()


def test_from_lm_follows_the_language_models_cell(mgu_lm, data, tmp_path, capsys):
    out = tmp_path / "transfer"
    code = cli.main(
        ["train", "classify", "--from-lm", str(mgu_lm.path), "--dataset", data]
        + ["--out", str(out), "--epochs", "1", "--freeze-epochs", "0"]
        + ["--batch-size", "16", "--max-length", "12"]
    )
    assert code == 0
    run = ClassifierRun.load(out)
    assert run.config.cell == "textgru.layers:MGUCell"
    assert type(run.model.backbone.recurrent_layers[0].cell) is MGUCell
    code = cli.main(
        ["train", "classify", "--from-lm", str(mgu_lm.path), "--dataset", data]
        + ["--out", str(tmp_path / "x"), "--cell", "textgru.layers:GRUCell"]
    )
    assert code == 2 and "--cell" in capsys.readouterr().err


def test_cell_args_from_the_command_line_are_recorded_and_used(data, tmp_path):
    """A cell's own arguments could be set only in `build_classifier`."""
    out = tmp_path / "run"
    flags = as_flags({**TINY, "epochs": 1})
    code = cli.main(
        ["train", "classify", "--dataset", data, "--out", str(out), *flags]
        + ["--cell", "textgru.layers:MGUCell", "--cell-args", '{"use_bias": false}']
    )
    assert code == 0
    info = json.loads((out / "config.json").read_text())
    assert info["config"]["cell_args"] == {"use_bias": False}
    run = ClassifierRun.load(out)
    for layer in run.model.backbone.recurrent_layers:
        for direction in (layer.forward_layer, layer.backward_layer):
            assert type(direction.cell) is MGUCell and direction.cell.bias is None


@pytest.mark.parametrize(
    "cell_args, message",
    [
        ({"nope": 1}, "`cell_args` that MGUCell takes"),
        ({"units": 3}, "Set units with its own field"),
        ({"use_bias": float("nan")}, "as JSON values"),
    ],
)
def test_bad_cell_args_are_one_line(cell_args, message):
    with pytest.raises(InvalidArgumentError, match=message) as info:
        ClassifierConfig(cell=MGUCell, cell_args=cell_args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["[1, 2]", "{not json"])
def test_cell_args_that_are_no_json_object_are_one_line(text, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "classify", "--cell-args", text, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "--cell-args" in err
