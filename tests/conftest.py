"""Shared test setup: quiet TensorFlow, no hub access, fixed seeds, small helpers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One thread per TensorFlow op pool in the test processes and the processes
# they start: `make test` runs four test processes on two cores, and pools
# sized to the cores in each only wait on each other (the tiny models here
# gain nothing from a second thread).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
# No network in tests: hub lookups fail at once instead of retrying for ~23 s.
# (Read when huggingface_hub is imported, so it is set before any import.)
os.environ["HF_HUB_OFFLINE"] = "1"
# The CLI processes the tests start share one XLA cache, not the user's,
# removed when the session ends.
if "TEXTGRU_XLA_CACHE" not in os.environ:
    import atexit  # noqa: E402
    import shutil  # noqa: E402
    import tempfile  # noqa: E402

    os.environ["TEXTGRU_XLA_CACHE"] = tempfile.mkdtemp(prefix="textgru-xla-")
    atexit.register(shutil.rmtree, os.environ["TEXTGRU_XLA_CACHE"], True)
# The test processes use that cache too (as the `textgru` command does,
# textgru._xla_cache): the tests train many models of the same few shapes,
# and each GRU loop compiled by XLA is then compiled once, not once per
# test and worker (a tiny classifier run: 8.4 -> 7.2 s of CPU, measured).
# Set before TensorFlow is imported; the CLI leaves a cache named here as
# it is, and the tests of the cache set TF_XLA_FLAGS themselves.
_cache = os.environ["TEXTGRU_XLA_CACHE"]
if _cache.strip().lower() != "off" and "--tf_xla_persistent_cache_directory" not in (
    os.environ.get("TF_XLA_FLAGS", "")
):
    os.environ["TF_XLA_FLAGS"] = (
        os.environ.get("TF_XLA_FLAGS", "")
        + f" --tf_xla_persistent_cache_directory={_cache}"
        + " --tf_xla_persistent_cache_device_types=CPU"
    ).strip()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.tiny import (  # noqa: E402
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    labelled_rows,
    write_csv,
)


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def builtin_home(request):
    """A data home that survives between test runs (under .pytest_cache), so the
    built-in datasets are downloaded and converted once, not on every run.

    The first pytest-xdist worker to ask makes every built-in dataset, under
    a lock on the home; the others wait for it and then find them made, so
    two never build one at once."""
    import fcntl

    from textgru.data import builtin

    home = request.config.cache.mkdir("textgru-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEXTGRU_HOME", str(home))
        with open(home / ".tests.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in builtin.BUILTINS:
                builtin.load_builtin(name)
            fcntl.flock(lock, fcntl.LOCK_UN)
        yield home


@pytest.fixture
def toy_teacher(monkeypatch, tmp_home):
    """A random 2-layer BERT (tests/toy_teacher.py) in all-MiniLM-L6-v2's
    place, in an empty data home: what `--teacher minilm` fine-tunes."""
    from tests.toy_teacher import toy_teacher_files
    from textgru.teachers import teacher

    files = toy_teacher_files(np.random.default_rng(5))
    monkeypatch.setattr(teacher, "minilm_files", lambda: files)
    return files


@pytest.fixture
def tmp_home(tmp_path, monkeypatch):
    """An empty data home for one test."""
    home = tmp_path / "textgru-home"
    monkeypatch.setenv("TEXTGRU_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def reviews(tmp_path_factory):
    """A labelled CSV of 320 tiny reviews, neg and pos (read it, never change it)."""
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    rows = labelled_rows(np.random.default_rng(0), 320, [NEGATIVE, POSITIVE])
    return write_csv(path, rows, ["neg", "pos"])


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Unlabelled text in the reviews' words, none of them a review."""
    rng = np.random.default_rng(1)
    words = NEUTRAL + POSITIVE + NEGATIVE
    lines = [" ".join(rng.choice(words, size=9)) for _ in range(300)]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tiny_export(reviews, tmp_path_factory):
    """`(run, export)`: a TINY classifier trained on `reviews`, and its ONNX
    export (once per test file)."""
    from tests.tiny import TINY
    from textgru.deploy import exporter
    from textgru.tasks import ClassifierConfig, train_classifier

    folder = tmp_path_factory.mktemp("exported")
    config = ClassifierConfig(dataset=reviews, out=str(folder / "run"), **TINY)
    run = train_classifier(config, verbose=0)
    return run, exporter.export(run, folder / "export")


# Test files that take the longest (minutes of CPU each: several training
# processes, notebooks, the benchmarks at a tiny size), run first so that no
# worker is left with one of them at the end (`make test` runs the suite with
# `--dist loadfile`: each file on one worker, so that its module- and
# session-scoped fixtures, most of them a trained run, are made once).
LONGEST_FIRST = (
    "tests/test_distribute.py",
    "tests/test_notebooks.py",
    "tests/test_transfer.py",
    "tests/test_benchmarks.py",
    "tests/test_terminal.py",
    "tests/reliability/test_run_directories.py",
)


def pytest_collection_modifyitems(config, items):
    """The longest test files first (each file's tests keep their order)."""

    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else 99

    items.sort(key=rank)
