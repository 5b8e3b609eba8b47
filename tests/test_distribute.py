"""Data-parallel training (`textgru.training.distribute`): TensorFlow's MirroredStrategy
over two logical CPU devices and two JAX processes on loopback, each against
one device; a worker killed mid-run and resumed; the launcher; the errors.

Devices and a JAX cluster are set up once per process, so every training
runs in a process of its own (`tests/distributed_run.py` or the CLI), each
bounded by a timeout.
"""

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli_output import ENTRY
from textgru.errors import InvalidArgumentError, RunError
from textgru.tasks import CLASSIFY, ClassifierConfig, LanguageModelConfig
from textgru.tasks.classification import ClassifierRun
from textgru.training import backups, distribute, run_directory
from textgru.training.launch import free_port, launch

pytestmark = pytest.mark.distributed

SCRIPT = Path(__file__).with_name("distributed_run.py")
TEXTS = ["good fun film", "a dull boring plot", "the actor", "superb lovely scene"]
TIMEOUT = 300  # seconds any one process may take
# 320 texts: 256 train (16 batches of 16) and 32 validation, so no batch is
# dropped and a one-device run sees the same batches.
TINY = dict(
    embed_dim=8, units=8, vocab_size=200, batch_size=16, epochs=2, max_length=12,
    embedding_dropout=0.0, dropout=0.0, patience=5, learning_rate=1e-2,
)  # fmt: skip


def _env(backend, **extra):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    return {**env, "HF_HUB_OFFLINE": "1", **extra}


def _start(jobs, out, backend, **extra):
    """A process of tests/distributed_run.py training `jobs` (task -> config)."""
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), json.dumps(jobs), str(out)],
        env=_env(backend, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process):
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"a training process ran past {TIMEOUT} s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-3000:]


def _weights(path):
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _history(run_dir, column):
    return [
        float(row[column])
        for row in run_directory.read_history(run_dir / "history.csv")
    ]


def _assert_close(a, b, atol):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


def test_mirrored_on_two_devices_matches_one_device(reviews, corpus, tmp_path):
    """A classifier (bucketed batches, run-time lengths) and a language model
    (fixed windows), both on the fast GRU loop, each in one process per
    device count."""
    runs = {}
    for devices in (1, 2):
        mirrored = dict(distribute="mirrored", devices=devices)
        jobs = {
            # With adversarial training, on by default.
            "classify": dict(
                TINY, dataset=reviews, out=str(tmp_path / f"classify{devices}"),
                **mirrored,
            ),
            "lm": dict(
                dataset=corpus, units=16, embed_dim=8, seq_len=16, batch_size=16,
                epochs=1, dropout=0.0, stateful=False, samples=0,
                out=str(tmp_path / f"lm{devices}"), **mirrored,
            ),
        }  # fmt: skip
        runs[devices] = _start(jobs, tmp_path / f"out{devices}", "tensorflow")
    for process in runs.values():
        _finish(process)
    one, two = tmp_path / "out1", tmp_path / "out2"
    for task in ("classify", "lm"):
        replicas = json.loads((two / f"{task}-replicas-0.json").read_text())
        assert replicas == {"spread": 0.0, "replicas": 2}, task
        for column in ("loss", "val_loss"):
            _assert_close(
                _history(tmp_path / f"{task}1", column),
                _history(tmp_path / f"{task}2", column),
                1e-5,
            )
        _assert_close(
            _weights(one / f"{task}-weights-0.npz"),
            _weights(two / f"{task}-weights-0.npz"),
            1e-5,
        )
    for task in ("classify", "lm"):
        assert json.loads((two / f"{task}-fast-path-0.json").read_text()) > 0
    # The run reloads here, on one device, and predicts as it did in training.
    reloaded = ClassifierRun.load(tmp_path / "classify2")
    np.testing.assert_allclose(
        reloaded.predict_proba(TEXTS), np.load(two / "predictions.npy"), atol=1e-6
    )
    assert reloaded.config.distribute == "mirrored" and reloaded.config.devices == 2
    assert not run_directory.workdir_for(tmp_path / "classify2").exists()


def test_jax_two_processes_and_two_devices_match_one_device(
    reviews, tmp_path, monkeypatch
):
    """Also `mirrored` on JAX: one process over 2 CPU devices (set up first,
    before JAX starts; the one-device run then uses the first)."""
    base = dict(TINY, dataset=reviews, dropout=0.2)
    jobs = {
        "mirrored": dict(
            base, out=str(tmp_path / "mirrored"), distribute="mirrored", devices=2
        ),
        "classify": dict(base, out=str(tmp_path / "run1")),
    }
    single = _start(jobs, tmp_path / "out1", "jax")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = dict(base, out=str(tmp_path / "run2"), distribute="multi-host")
    code = launch(
        [str(SCRIPT), json.dumps({"classify": config}), str(tmp_path / "out2")],
        2,
        timeout=TIMEOUT,
        program=[sys.executable],
    )
    _finish(single)
    assert code == 0
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    chief, worker = (_weights(out2 / f"classify-weights-{i}.npz") for i in range(2))
    _assert_close(chief, worker, 0.0)  # the processes hold identical weights
    one_device = _weights(out1 / "classify-weights-0.npz")
    _assert_close(chief, one_device, 1e-5)
    _assert_close(_weights(out1 / "mirrored-weights-0.npz"), one_device, 1e-5)
    for column in ("loss", "val_loss"):
        for run in ("run2", "mirrored"):
            _assert_close(
                _history(tmp_path / "run1", column),
                _history(tmp_path / run, column),
                1e-5,
            )
    # Only the chief got the run back; it reloads here on TensorFlow.
    assert sorted(p.name for p in out2.glob("predictions*")) == ["predictions.npy"]
    reloaded = ClassifierRun.load(tmp_path / "run2")
    np.testing.assert_allclose(
        reloaded.predict_proba(TEXTS), np.load(out2 / "predictions.npy"), atol=1e-5
    )
    assert sorted(os.listdir(tmp_path / "run2")) == sorted(
        [*CLASSIFY.files, run_directory.MANIFEST]
    )
    info = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert info["backend"] == "jax"
    assert info["config"]["distribute"] == "multi-host"
    assert info["config"]["process_id"] is None  # where it ran is not recorded


def _cli(args, out, process, port, log):
    command = [sys.executable, "-c", ENTRY, "train", "classify", *args]
    return subprocess.Popen(
        [*command, "--out", str(out), "--distribute", "multi-host"],
        env=_env(
            "jax",
            KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
            KERAS_DISTRIBUTION_NUM_PROCESSES="2",
            KERAS_DISTRIBUTION_PROCESS_ID=str(process),
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _listening(pid):
    """The addresses (`ipaddress` objects, with ports) that process `pid`'s
    TCP sockets listen on, read from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                (address, port), state, inode = (
                    fields[1].split(":"),
                    fields[3],
                    fields[9],
                )
                if state == "0A" and inode in inodes:  # 0A: LISTEN
                    # Each 32-bit word of the address is little-endian.
                    raw = b"".join(
                        bytes.fromhex(address[i : i + 8])[::-1]
                        for i in range(0, len(address), 8)
                    )
                    found.append((ipaddress.ip_address(raw), int(port, 16)))
    return found


def _loopback(address):
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _backed_up(work, process):
    path = work / "backup" / f"process-{process}" / "training_metadata.json"
    try:
        return json.loads(path.read_text())["epoch"]
    except (OSError, ValueError):
        return 0


def test_a_run_whose_worker_is_killed_resumes(reviews, tmp_path):
    out = tmp_path / "run"
    work = run_directory.workdir_for(out)
    args = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    args += ["--dataset", reviews, "--epochs", "4", "--patience", "10"]
    port = free_port()
    logs = [open(tmp_path / f"process-{i}.log", "w") for i in range(2)]  # noqa: SIM115
    chief, worker = (_cli(args, out, i, port, logs[i]) for i in range(2))
    try:
        deadline = time.monotonic() + TIMEOUT
        while min(_backed_up(work, i) for i in range(2)) < 1:
            assert time.monotonic() < deadline, "no epoch backed up in time"
            output = (tmp_path / "process-1.log").read_text()[-3000:]
            assert worker.poll() is None, output
            time.sleep(0.05)
        # Both processes are up: nothing of theirs listens beyond loopback
        # (JAX's coordinator, on process 0, listened on every interface).
        sockets = {"chief": _listening(chief.pid), "worker": _listening(worker.pid)}
        assert any(at == port for _, at in sockets["chief"]), sockets
        found = [address for each in sockets.values() for address, _ in each]
        assert all(_loopback(address) for address in found), sockets
        worker.send_signal(signal.SIGKILL)
        chief.send_signal(signal.SIGKILL)  # as a cluster manager stops the job
    finally:
        for process in (chief, worker):
            if process.poll() is None:
                process.kill()
            process.wait()
        for log in logs:
            log.close()
    assert work.is_dir() and not out.exists()
    stopped_at = [_backed_up(work, i) for i in range(2)]
    assert min(stopped_at) >= 1 and max(stopped_at) < 4

    resumed = subprocess.run(
        [sys.executable, "-c", ENTRY, "launch", "--num-processes", "2",
         "--timeout", str(TIMEOUT), "--", "train", "classify", *args,
         "--out", str(out), "--distribute", "multi-host", "--resume"],
        env=_env("jax"), capture_output=True, text=True, timeout=TIMEOUT + 30,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "process 0 wrote the run" in resumed.stdout
    assert not work.exists()
    history = run_directory.read_history(out / "history.csv")
    assert [int(row["epoch"]) for row in history] == list(range(4))
    assert json.loads((out / "metrics.json").read_text())["resumed"] is True


def _backups(tmp_path, epochs):
    """A backup folder holding `epochs` (latest, before the last), each
    weights file a real HDF5 file that records its epoch."""
    import h5py

    backup = tmp_path / "backup" / "process-0"
    backup.mkdir(parents=True)
    for suffix, epoch in zip(("", ".bkp"), epochs, strict=True):
        metadata = json.dumps({"epoch": epoch, "batch": 0})
        (backup / f"training_metadata.json{suffix}").write_text(metadata)
        with h5py.File(backup / f"latest.weights.h5{suffix}", "w") as weights:
            weights.attrs["epoch"] = epoch
    return backup


def _weights_epoch(path):
    import h5py

    with h5py.File(path, "r") as weights:
        return int(weights.attrs["epoch"])


@pytest.mark.parametrize("other", [3, 2, 1])
def test_backups_an_epoch_apart_meet_further_apart_are_refused(
    tmp_path, monkeypatch, other
):
    """Process 0 of two has backed up 3 epochs (2 before that); process 1
    has `other`. `gather` stands in for the collective."""
    backup = _backups(tmp_path, (3, 2))
    calls = []

    def gather(self, value):
        calls.append(value)
        if len(calls) == 1:
            return [value, other]
        return [value, other in (2, 3)]  # process 1 at 2 or 3 can meet at 2

    monkeypatch.setattr(distribute.Distribution, "gather", gather)
    process = distribute.Distribution("multi-host", 2, num_processes=2)
    if other == 1:
        with pytest.raises(RunError, match="process 0: 3, process 1: 1"):
            process.prepare_backups(tmp_path, resumed=True)
        return
    assert process.prepare_backups(tmp_path, resumed=True) == min(3, other)
    held = backups.backed_up_epochs(backup)
    assert held == min(3, other)
    assert _weights_epoch(backup / "latest.weights.h5") == held


def test_a_backup_half_written_by_a_kill_goes_back_to_the_one_before(tmp_path):
    backup = _backups(tmp_path, (3, 2))
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n half of a file")
    backups.repair_backup(backup)
    assert backups.backed_up_epochs(backup) == 2
    assert _weights_epoch(backup / "latest.weights.h5") == 2
    (backup / "latest.weights.h5").write_bytes(b"broken")
    (backup / "latest.weights.h5.bkp").write_bytes(b"broken too")
    backups.repair_backup(backup)
    assert not backup.exists()  # nothing usable: training starts over


def test_a_new_run_drops_a_workers_stale_backup(tmp_path, monkeypatch):
    backup = _backups(tmp_path, (3, 2))
    monkeypatch.setattr(
        distribute.Distribution, "gather", lambda self, value: [value, value]
    )
    worker = distribute.Distribution("multi-host", 2, num_processes=2, process_id=1)
    backup.rename(worker.backup_dir(tmp_path))
    assert worker.prepare_backups(tmp_path, resumed=False) == 0
    assert not worker.backup_dir(tmp_path).exists()


def test_launch_stops_the_others_when_one_fails(tmp_path):
    marker = tmp_path / "still-running"
    program = [
        sys.executable,
        "-c",
        "import os, sys, time, pathlib\n"
        "if os.environ['KERAS_DISTRIBUTION_PROCESS_ID'] == '1': sys.exit(3)\n"
        "time.sleep(60); pathlib.Path(sys.argv[1]).touch()",
    ]
    start = time.monotonic()
    assert launch([str(marker)], 2, timeout=TIMEOUT, program=program) == 3
    assert time.monotonic() - start < 30
    time.sleep(0.5)
    assert not marker.exists()


def test_launch_gives_each_process_its_place_and_times_out(tmp_path, capsys):
    program = [
        sys.executable,
        "-c",
        "import os, pathlib, sys\n"
        "names = ('JOB_ADDRESSES', 'NUM_PROCESSES', 'PROCESS_ID')\n"
        "values = [os.environ['KERAS_DISTRIBUTION_' + n] for n in names]\n"
        "pathlib.Path(sys.argv[1], values[2]).write_text(' '.join(values))",
    ]
    assert launch(["--", str(tmp_path)], 3, timeout=TIMEOUT, program=program) == 0
    seen = sorted(p.read_text().split() for p in tmp_path.iterdir())
    assert [s[1:] for s in seen] == [["3", "0"], ["3", "1"], ["3", "2"]]
    assert len({s[0] for s in seen}) == 1 and seen[0][0].startswith("127.0.0.1:")

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    start = time.monotonic()
    assert launch(["x"], 2, timeout=1, program=sleeper) == 124
    assert time.monotonic() - start < 30
    assert "timed out after 1 s" in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(distribute="pipeline"), "Expected `distribute` to be one of"),
        (dict(devices=2), "--devices: only with --distribute"),
        (dict(distribute="mirrored", devices=0), "`devices` to be a positive"),
        (dict(process_id=1), "--process-id: only with --distribute multi-host"),
        (dict(distribute="multi-host", num_processes=0), "`num_processes`"),
    ],
)
def test_config_errors(changes, message):
    with pytest.raises(InvalidArgumentError, match=message):
        ClassifierConfig(**changes)


def test_a_stateful_language_model_is_refused():
    with pytest.raises(InvalidArgumentError, match="pass --no-stateful"):
        LanguageModelConfig(distribute="mirrored")
    assert not LanguageModelConfig(distribute="mirrored", stateful=False).stateful


def test_setup_errors_on_tensorflow():
    import tensorflow as tf

    tf.constant(0)  # TensorFlow has started (with one CPU device) in this process
    with pytest.raises(InvalidArgumentError, match="JAX backend"):
        distribute.setup(ClassifierConfig(distribute="multi-host"))
    with pytest.raises(RunError, match="run this in a new process"):
        distribute.setup(ClassifierConfig(distribute="mirrored", devices=4))
    two = distribute.Distribution("mirrored", 2)
    with pytest.raises(InvalidArgumentError, match="divide evenly across the 2"):
        two.check_batch_size(7)
    two.check_batch_size(8)


def test_cli_errors_are_one_line(capsys):
    from textgru.cli import main

    assert main(["train", "classify", "--distribute", "multi-host"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KERAS_BACKEND=jax" in err
    assert main(["launch", "--num-processes", "2", "--", "train", "classify"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "add --distribute multi-host" in err


def test_an_error_on_the_chief_stops_every_process(reviews, tmp_path):
    out = tmp_path / "run"
    out.mkdir()  # a run already there: the chief refuses to start
    args = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, "launch", "--num-processes", "2",
         "--timeout", str(TIMEOUT), "--", "train", "classify", *args,
         "--dataset", reviews, "--out", str(out), "--distribute", "multi-host"],
        env=_env("jax"), capture_output=True, text=True, timeout=TIMEOUT + 30,
    )  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "textgru: error:" in line]
    assert any("already exists; pass --overwrite" in line for line in errors)
    assert any("process 0 could not start the run" in line for line in errors)
    assert os.listdir(out) == [] and not run_directory.workdir_for(out).exists()
