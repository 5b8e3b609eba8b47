"""`textgru launch`: the processes of a multi-host run, started on one machine.

A cluster starts one process per host, each with the same `textgru train
... --distribute multi-host` command and its own place in the cluster.
`launch` does that on one machine, to try multi-process training or test
it: it picks a free loopback port for process 0, gives each process the
environment variables Keras reads (`KERAS_DISTRIBUTION_JOB_ADDRESSES`,
`KERAS_DISTRIBUTION_NUM_PROCESSES`, `KERAS_DISTRIBUTION_PROCESS_ID`), and
waits. If one process fails, or `timeout` runs out, it stops the others, so
nothing is left waiting for a peer that is gone.
"""

import os
import socket
import subprocess
import sys
import time

from textgru.errors import InvalidArgumentError

# Seconds a process gets to exit after SIGTERM before it is killed (one
# waiting in a collective for a peer that died does not exit on SIGTERM).
GRACE = 5.0
TIMED_OUT = 124  # the exit code of timeout(1)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(command_line, num_processes, *, timeout=None, program=None):
    """Run `textgru COMMAND_LINE` as `num_processes` processes of one cluster.

    Args:
        command_line: the arguments of `textgru` each process runs (a
            leading "--" is dropped), e.g. `["train", "classify",
            "--distribute", "multi-host", "--out", "runs/rt"]`.
        num_processes: how many processes to start.
        timeout: seconds after which every process is stopped (None: no limit).
        program: the program to run instead of `textgru` (for tests).

    Returns:
        0 if every process succeeded; else the exit code of the first that
        failed (the others are stopped), or 124 if the time ran out.
    """
    command_line = list(command_line)
    if command_line[:1] == ["--"]:
        command_line = command_line[1:]
    if not isinstance(num_processes, int) or num_processes < 1:
        raise InvalidArgumentError(
            f"Expected `num_processes` to be a positive integer. Received: "
            f"{num_processes!r}"
        )
    if not command_line:
        raise InvalidArgumentError(
            "No command to launch: put it after --, e.g. textgru launch "
            "--num-processes 2 -- train classify --distribute multi-host"
        )
    if program is None:
        program = [sys.executable, "-m", "textgru.cli"]
        if not _multi_host(command_line):
            raise InvalidArgumentError(
                "launch starts the processes of a multi-host run: add "
                "--distribute multi-host to the command"
            )
    if timeout is not None and timeout <= 0:
        raise InvalidArgumentError(f"Expected `timeout` > 0. Received: {timeout}")
    address = f"127.0.0.1:{free_port()}"
    processes = []
    try:
        for index in range(num_processes):
            env = dict(os.environ)
            env.setdefault("KERAS_BACKEND", "jax")
            env["KERAS_DISTRIBUTION_JOB_ADDRESSES"] = address
            env["KERAS_DISTRIBUTION_NUM_PROCESSES"] = str(num_processes)
            env["KERAS_DISTRIBUTION_PROCESS_ID"] = str(index)
            processes.append(subprocess.Popen([*program, *command_line], env=env))
        return _wait(processes, timeout)
    finally:
        stop(processes)


def _multi_host(arguments):
    for i, argument in enumerate(arguments):
        if argument == "--distribute=multi-host":
            return True
        if argument == "--distribute" and arguments[i + 1 : i + 2] == ["multi-host"]:
            return True
    return False


def _wait(processes, timeout):
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        codes = [process.poll() for process in processes]
        for index, code in enumerate(codes):
            if code not in (None, 0):
                stop(processes)
                _say(f"process {index} exited with code {code}; stopped the others")
                return code
        if all(code == 0 for code in codes):
            return 0
        if deadline is not None and time.monotonic() > deadline:
            stop(processes)
            _say(f"timed out after {timeout:g} s; stopped every process")
            return TIMED_OUT
        time.sleep(0.1)


def stop(processes):
    """Stop the `processes` still running: SIGTERM, then SIGKILL after `GRACE` s."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    end = time.monotonic() + GRACE
    for process in running:
        try:
            process.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _say(message):
    print(f"textgru: launch: {message}", file=sys.stderr, flush=True)
