"""The lock a training run holds on `<out>.lock`, so that a second run on
the same `--out` is refused while the first trains."""

import errno
import fcntl
import os
import socket
import stat
import time
from pathlib import Path

from textgru.errors import RunError


def lock_path(out):
    """The lock file of the run at `out`: `<out>.lock`."""
    out = Path(out)
    return out.with_name(out.name + ".lock")


class RunLock:
    """An advisory lock (`flock`) on `<out>.lock` for the life of a training
    run. The kernel drops it when the process dies, so a lock left by a
    killed run is simply taken over; the file names its holder."""

    def __init__(self, out):
        self.out = Path(out)
        self.path = lock_path(out)
        self.fd = None

    def check_free(self):
        """Raises the "in progress" error if another run holds the lock."""
        if os.path.lexists(self.path):
            self.acquire().release()

    def _open(self):
        """The lock file, opened without following a link: a link, or a file
        with other names (a hard link to a file of someone's), is refused
        before anything is written to it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise RunError(
                f"{self.path} is a symbolic link, and textgru never writes a run's "
                "lock through one; remove it"
            ) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise RunError(
                f"{self.path} is not a lock file textgru made (it is a hard link or "
                "not a plain file); remove it"
            )
        return fd

    def acquire(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 500).decode("utf-8", "replace").strip()
                os.close(fd)
                raise RunError(
                    f"A run is in progress at {self.out} ({holder or 'holder unknown'}"
                    "); wait for it to finish, or choose another --out"
                ) from None
            # The holder before us may have removed the file as we opened it.
            if os.path.exists(self.path) and os.stat(self.path).st_ino == (
                os.fstat(fd).st_ino
            ):
                os.ftruncate(fd, 0)
                started = time.strftime("%Y-%m-%d %H:%M:%S")
                holder = f"pid {os.getpid()} on {socket.gethostname()}, since {started}"
                os.write(fd, holder.encode("utf-8"))
                self.fd = fd
                return self
            os.close(fd)
        raise RunError(f"Could not lock {self.path}; try again")

    def release(self):
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
