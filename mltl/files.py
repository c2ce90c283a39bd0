"""File helpers: atomic writes, '-' for stdin/stdout, strict UTF-8 decoding.

Every output of mltl goes through :func:`atomic_file` or :func:`atomic_dir`, so
a crash, Ctrl-C or bad input never leaves a half-written file or directory.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator

from mltl.errors import InputError

STDIO = "-"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (bounded memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _decode_error(path: str | Path, exc: UnicodeDecodeError, offset: int, encoding: str,
                  lineno: int) -> InputError:
    return InputError(
        f"not valid {encoding} at byte offset {offset + exc.start} "
        f"(byte 0x{exc.object[exc.start]:02x}); pass --encoding to read another encoding",
        path=path, line=lineno,
    )


def iter_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a text file or ``-`` (stdin), streaming.

    Lines are returned without their line ending (LF or CRLF). Invalid bytes raise
    :class:`InputError` naming the file and the byte offset, instead of a traceback
    or silent replacement characters. ``.gz`` files are decompressed on the fly.
    """
    if str(path) == STDIO:
        raw: IO[bytes] = sys.stdin.buffer
        name = "<stdin>"
    else:
        p = Path(path)
        if not p.exists():
            raise InputError("no such file", path=path)
        if p.is_dir():
            raise InputError("is a directory, expected a file", path=path)
        raw = gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")
        name = str(path)
    offset = 0
    try:
        for lineno, bline in enumerate(raw, start=1):
            try:
                line = bline.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _decode_error(name, exc, offset, encoding, lineno) from None
            except LookupError:
                raise InputError(f"unknown encoding {encoding!r}") from None
            offset += len(bline)
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]  # a UTF-8 BOM is not part of the first token
            yield lineno, line.rstrip("\r\n")
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def check_nonempty(path: str | Path) -> None:
    """Raise :class:`InputError` if a (regular) file is empty."""
    if str(path) == STDIO:
        return
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", path=path)
    if p.is_file() and p.stat().st_size == 0:
        raise InputError("file is empty", path=path)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temp file beside ``path`` and rename it into place on success.

    ``path == '-'`` writes to stdout instead (nothing to rename).
    """
    if str(path) == STDIO:
        if "b" in mode:
            yield sys.stdout.buffer
        else:
            yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with io.open(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Build a directory under a temp name and rename it to ``path`` on success.

    Refuses an existing ``path`` unless ``force``; with ``force`` the old directory
    is replaced only once the new one is complete.
    """
    target = Path(path)
    if target.exists() and not force:
        raise InputError("output directory exists; pass --force to overwrite it", path=target)
    if target.exists() and not target.is_dir():
        raise InputError("output path exists and is not a directory", path=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(target.parent, os.W_OK):
        raise InputError("output directory is not writable", path=target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
