"""`textgru train lm` and `textgru generate`, and their one-line errors."""

from pathlib import Path

import pytest

from tests.cli_output import error_lines, run_script
from tests.test_language_modeling import TINY
from textgru import cli

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "language_model.py"


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-lm")
    text = folder / "text.txt"
    text.write_text("".join(f"to be or not to be, line {i}.\n" for i in range(200)))
    flags = []
    for name, value in {**TINY, "max_steps": 8}.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    out = folder / "lm"
    assert (
        cli.main(["train", "lm", "--dataset", str(text), "--out", str(out), *flags])
        == 0
    )
    return out


def test_generate_prints_prompt_and_continuation(lm_dir, capsys):
    args = ["generate", str(lm_dir), "--prompt", "to be", "--max-new-tokens", "12"]
    assert cli.main([*args, "--seed", "4"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("to be")
    assert cli.main([*args, "--seed", "4"]) == 0
    assert capsys.readouterr().out == first
    assert cli.main([*args, "--num-samples", "2", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) >= 2


ERRORS = [
    (["generate", "{run}", "--temperature", "-1"], "--temperature >= 0"),
    (["generate", "{run}", "--top-p", "1.5"], "--top-p in (0, 1]"),
    (["generate", "{run}", "--max-new-tokens", "0"], "Expected --max-new-tokens"),
    (["generate", "{tmp}/nothing"], "No run directory"),
    (["generate", "{tmp}/classify"], "is a 'classify' run; this needs a 'lm' run"),
    (["train", "lm", "--seq-len", "0", "--out", "{tmp}/r"], "--seq-len"),
    (["train", "lm", "--pooling", "max"], "unrecognized arguments"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), ERRORS)
def test_errors_are_one_line_with_exit_code_2(lm_dir, tmp_path, args, message, capsys):
    import json

    from textgru.training import run_directory

    (tmp_path / "classify").mkdir()
    (tmp_path / "classify" / "config.json").write_text(
        json.dumps({"run_format": run_directory.RUN_FORMAT, "task": "classify"})
    )
    args = [a.format(run=lm_dir, tmp=tmp_path) for a in args]
    try:
        code = cli.main(args)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and message in lines[0], lines


def test_recipe_is_the_same_command(capsys):
    assert run_script(RECIPE, "--help") == 0
    assert "--seq-len" in capsys.readouterr().out
