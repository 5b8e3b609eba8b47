"""Running the `textgru` command in the tests and reading what it printed."""

import subprocess
import sys


def error_lines(stderr):
    """The lines of `stderr` that are not status lines (`textgru: loading
    ...`): what a failed command said about its failure."""
    return [
        line
        for line in stderr.strip().splitlines()
        if line.startswith("textgru: error") or not line.startswith("textgru: ")
    ]


def one_line_error(capsys, code, expected_code=2):
    """The single `textgru: error:` line an in-process `cli.main` printed,
    checked: its exit code, no traceback (progress bars of `datasets` may
    come before the line)."""
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert code == expected_code, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("textgru: error: "), err[-2000:]
    return lines[0]


def run_script(path, *args):
    """Run the script at `path` (a recipe) in this process as `python PATH
    ARGS` would, and return its exit code."""
    import runpy
    from unittest import mock

    with mock.patch.object(sys, "argv", [str(path), *map(str, args)]):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as exit_:
            code = exit_.code
            return 0 if code is None else code if isinstance(code, int) else 1
    return 0


# The `textgru` console script's own entry (`textgru_cli.main`), which loads
# the package lazily: `python -m textgru.cli` imports it all first (about
# 10 s, against 0.2 s for `textgru datasets` through the entry).
ENTRY = "import sys, textgru_cli; sys.exit(textgru_cli.main())"


def textgru(*args, stdin=None, env=None, cwd=None):
    """`textgru ARGS` as a real process, started as the `textgru` command
    starts: `(exit code, stdout, "textgru: error" lines, stderr)`."""
    result = subprocess.run(
        [sys.executable, "-c", ENTRY, *map(str, args)],
        input=stdin, capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )  # fmt: skip
    errors = [
        line for line in result.stderr.splitlines() if line.startswith("textgru: error")
    ]
    return result.returncode, result.stdout, errors, result.stderr


def without(*modules):
    """Python source that makes importing any of `modules` (and their
    submodules) fail from then on, as on a machine without them; a script
    run with `python -c` starts with it. `BLOCKED` names them there."""
    return f"""
import importlib.abc, sys
BLOCKED = {modules!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Block())
"""
