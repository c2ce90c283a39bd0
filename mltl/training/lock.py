"""One ``mltl train`` per run directory: an exclusive lock held while the run writes.

The lock is a file *beside* the directory (``.<name>.lock`` in its parent), not inside
it: ``--force`` empties the directory and model subdirectories are swapped in by rename,
and neither may drop the lock. ``flock`` locks die with their process, so a killed run
leaves no stale lock (at most the file, which the next run reuses). The file holds the
holder's pid, which a second run names in its error.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from mltl.errors import InputError

try:
    import fcntl
except ImportError:  # not POSIX: no locking
    fcntl = None  # type: ignore[assignment]


def lock_path(run_dir: str | Path) -> Path:
    """``a/b/run`` -> ``a/b/.run.lock`` (the real directory: a symlink locks its target)."""
    d = Path(run_dir).resolve()
    return d.parent / f".{d.name}.lock"


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


@contextlib.contextmanager
def run_lock(run_dir: str | Path, what: str = "mltl train") -> Iterator[Path | None]:
    """Hold the lock of ``run_dir`` or raise :class:`InputError` naming the holder's pid."""
    if fcntl is None:
        yield None
        return
    path = lock_path(run_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output's parent directory ({exc.strerror})", path=path.parent) from None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"cannot create the lock file of {Path(run_dir)} ({exc.strerror})", path=path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise InputError(f"is in use by another {what} ({holder})", path=run_dir) from None
        # The previous holder removes the file as it lets go: if this open found that file
        # just before it went, the lock is on a name nobody else sees; take the new one.
        try:
            st = os.stat(path)
            same = (st.st_ino, st.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev)
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still locked: a waiting run then retries on a fresh file
        os.close(fd)
