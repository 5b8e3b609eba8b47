"""A quiet terminal: the backend's start-up chatter is dropped, real problems
are not.

TensorFlow prints several lines to stderr when it is first imported (absl's
"All log messages before absl::InitializeLog()", oneDNN's "custom operations
are on", CPU-feature and XLA notes) and more as it runs. textgru sets
`TF_CPP_MIN_LOG_LEVEL` before the first import (TensorFlow reads it only
then), so its C++ INFO and WARNING lines stay off, and drops the few lines it
prints at import time regardless (`start_up`). The `textgru` command and the
recipes filter the process's stderr the same way while a command runs
(`filtered_stderr`), which also drops a false oneDNN error TensorFlow prints
when a model first runs, and the false errors it prints each time it reads a
compiled loop from XLA's disk cache. Python warnings, errors and anything else
on stderr pass through. `TEXTGRU_VERBOSE=1` (or `textgru --verbose`) keeps everything.
"""

import contextlib
import os
import re
import sys
import threading

VERBOSE = "TEXTGRU_VERBOSE"
# What the backends print at start-up that tells a user nothing.
NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|^[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]"
    r"|oneDNN custom operations are on"
    r"|oneDNN supports DT_BOOL only"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|TF-TRT Warning: Could not find TensorRT"
    # Reading XLA's disk cache (textgru._xla_cache): TensorFlow first tries
    # each entry as text, then reads it as binary; and it takes two tuning
    # flags XLA records with the code for CPU features that are missing.
    # Both are printed as errors on every load that succeeds.
    r"|^E\d{4} [\d:.]+ +\d+ text_format\.cc:\d+\] Error parsing text-format "
    r"tensorflow\.XlaSerializedCacheEntry"
    r"|^E\d{4} [\d:.]+ +\d+ cpu_aot_loader\.cc:\d+\] Loading XLA:CPU AOT result\. "
    r"Target machine feature \+prefer-no-(scatter|gather) is not +supported"
)


def verbose():
    return os.environ.get(VERBOSE, "") not in ("", "0")


def configure():
    """Set the backend's log level before it is imported (a level the user
    set is kept)."""
    if not verbose() and not os.environ.get("TF_CPP_MIN_LOG_LEVEL"):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"


@contextlib.contextmanager
def start_up():
    """Run the block (the backend's first import) with the log level set and
    its `NOISE` lines on stderr dropped (`filtered_stderr`)."""
    configure()
    if "keras" in sys.modules:
        yield
        return
    with filtered_stderr():
        yield


def _stderr_open():
    """Whether the process has a stderr to filter (fd 2 open, `sys.stderr` set)."""
    if sys.stderr is None:
        return False
    try:
        os.fstat(2)
    except OSError:
        return False
    return True


class _Filter:
    """Copies what is written to a pipe to `out`, line by line, leaving out
    `NOISE` lines. A line in progress (a progress bar) goes out at once unless
    it may be the start of a noise line."""

    def __init__(self, read_fd, out_fd):
        self.read_fd, self.out_fd = read_fd, out_fd
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pending = b""
        while chunk := os.read(self.read_fd, 65536):
            pending += chunk
            *lines, pending = re.split(rb"(?<=[\n\r])", pending)
            self._write(lines)
            if pending and pending[:1] not in (b"I", b"W", b"E"):
                self._write([pending])
                pending = b""
        self._write([pending])

    def _write(self, pieces):
        kept = b"".join(
            piece
            for piece in pieces
            if piece and not NOISE.search(piece.decode("utf-8", "replace"))
        )
        if kept:
            try:
                os.write(self.out_fd, kept)
            except OSError:
                pass  # the terminal went away: keep draining, so no writer blocks


@contextlib.contextmanager
def filtered_stderr():
    """Run the block with the process's stderr (fd 2) passed through a filter
    that drops `NOISE` lines (nothing is filtered when verbose)."""
    if verbose() or not _stderr_open():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_fd, write_fd = os.pipe()
    reader = _Filter(read_fd, saved)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    _REAL.append(saved)
    try:
        yield
    finally:
        sys.stderr.flush()
        _REAL.remove(saved)
        os.dup2(saved, 2)  # closes the pipe's last writer: the filter drains
        reader.thread.join(timeout=5)
        os.close(read_fd)
        os.close(saved)


# The process's own stderr while `filtered_stderr` passes fd 2 through its
# filter (a stack: the innermost last).
_REAL = []


class _Direct:
    """A text stream that writes straight to a file descriptor (unbuffered:
    each write is a system call), as `real_stderr` gives."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, text):
        try:
            os.write(self.fd, text.encode("utf-8", "replace"))
        except OSError:
            pass  # the terminal went away
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return os.isatty(self.fd)

    def fileno(self):
        return self.fd


def real_stderr():
    """The process's own stderr, around the filter if one is on: what a
    progress bar draws on (it is the terminal, if any; the filtered stderr
    is a pipe), and where a line that must not wait on the filter goes (the
    last one before the process ends by a signal)."""
    return _Direct(_REAL[-1]) if _REAL else sys.stderr


def terminal():
    """The process's stderr if it is a terminal (for a progress bar), else
    None."""
    stream = real_stderr()
    try:
        return stream if stream is not None and stream.isatty() else None
    except (AttributeError, ValueError, OSError):  # closed, or not a file
        return None


def import_backend():
    """Import Keras (and with it the backend) quietly."""
    with start_up():
        import keras  # noqa: F401
