"""What a user sees on the terminal: no backend log lines from the command,
a fast start for the commands that need no backend, and `--verbose` to see
everything."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from textgru import _quiet

# A line of TensorFlow's, absl's or XLA's own logging.
BACKEND_LINE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|oneDNN|XLA|cuda|StreamExecutor",
    re.MULTILINE,
)
COMMAND = Path(sys.executable).with_name("textgru")


def textgru(*args, env=None):
    """`textgru ARGS` through the installed console script."""
    return subprocess.run(
        [str(COMMAND), *map(str, args)], capture_output=True, text=True,
        timeout=300, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(reviews, tmp_path_factory):
    out = tmp_path_factory.mktemp("quiet") / "run"
    flags = ["--embed-dim", "4", "--units", "4", "--epochs", "1", "--vocab-size", "60"]
    result = textgru("train", "classify", "--dataset", reviews, "--out", out, *flags)
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_no_backend_lines_from_help_predict_and_train(tiny_run):
    out, train = tiny_run
    assert not BACKEND_LINE.search(train.stderr), train.stderr[-3000:]
    for result in (textgru("--help"), textgru("predict", out, "good film")):
        assert result.returncode == 0, result.stderr[-2000:]
        assert not BACKEND_LINE.search(result.stderr), result.stderr[-3000:]
    # `import textgru` on its own is quiet too.
    imported = subprocess.run(
        [sys.executable, "-c", "import textgru"], capture_output=True, text=True
    )
    assert imported.returncode == 0 and not BACKEND_LINE.search(imported.stderr)


def test_verbose_brings_the_backend_lines_back(tiny_run):
    out, _ = tiny_run
    result = textgru("--verbose", "predict", out, "good film")
    assert result.returncode == 0, result.stderr[-2000:]
    assert BACKEND_LINE.search(result.stderr)


def test_help_and_datasets_do_not_import_the_backend():
    code = (
        "import sys, textgru_cli\n"
        "for argv in (['--help'], ['datasets']):\n"
        "    try:\n"
        "        textgru_cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'tensorflow', 'keras', 'datasets', 'jax'} & set(sys.modules)\n"
        "print('HEAVY', sorted(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "HEAVY []"


def test_the_filter_keeps_real_errors_and_drops_the_noise(capfd):
    noise = (
        "E0000 00:00:1796148274.161126   10732 util.cc:131] oneDNN supports DT_BOOL "
        "only on platforms with AVX-512. Falling back\n"
    )
    with _quiet.filtered_stderr():
        import os

        os.write(2, noise.encode())
        os.write(2, b"a real problem\n")
        os.write(2, b"\r 50%|#####     | progress")
    err = capfd.readouterr().err
    assert "a real problem\n" in err and "50%" in err
    assert "DT_BOOL" not in err


def test_each_phase_says_what_it_does_and_quiet_says_nothing(
    tiny_run, reviews, tmp_path
):
    _, train = tiny_run
    phases = [line for line in train.stderr.splitlines() if line.startswith("textgru:")]
    for words in ("loading", "tokenizer", "training a", "evaluating", "writing"):
        assert any(words in line for line in phases), phases
    flags = ["--embed-dim", "4", "--units", "4", "--epochs", "2", "--max-steps", "3"]
    out = tmp_path / "steps"
    steps = textgru("--quiet", "train", "classify", "--dataset", reviews, "--out", out,
                    "--batch-size", "16", *flags)  # fmt: skip
    assert steps.returncode == 0, steps.stderr[-2000:]
    assert not steps.stderr.strip(), steps.stderr[-2000:]
    # --quiet also drops the bar; without it the bar counts the real steps.
    assert "━" not in steps.stdout
    shown = textgru("train", "classify", "--dataset", reviews, "--out", out,
                    "--overwrite", "--batch-size", "16", *flags)  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "3/3" in shown.stdout and "seconds" not in shown.stdout


def test_a_finished_model_is_the_network_alone_and_a_run_loads_in_one_line(tiny_run):
    out, _ = tiny_run
    code = (
        "import sys, zipfile, textgru\n"
        "run = textgru.load(sys.argv[1])\n"
        "print(run.predict(['good great film'])[0]['label'] in run.label_names)\n"
        "names = zipfile.ZipFile(sys.argv[1] + '/model.keras').namelist()\n"
        "import h5py\n"
        "with zipfile.ZipFile(sys.argv[1] + '/model.keras') as z:\n"
        "    z.extract('model.weights.h5', sys.argv[2])\n"
        "keys = []\n"
        "h5py.File(sys.argv[2] + '/model.weights.h5').visit(keys.append)\n"
        "print(any(key.startswith('optimizer') for key in keys))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(out), str(out.parent)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "False"]
