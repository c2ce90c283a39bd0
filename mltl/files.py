"""File helpers: atomic writes, '-' for stdin/stdout, strict UTF-8 decoding.

Every output of mltl goes through :func:`atomic_file` or :func:`atomic_dir`, so
a crash, Ctrl-C or bad input never leaves a half-written file or directory.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Generator, Iterator, TypeGuard

from mltl import signals
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


def _decode_error(path: str | Path, exc: UnicodeDecodeError, offset: int, encoding: str, lineno: int) -> InputError:
    return InputError(
        f"not valid {encoding} at byte offset {offset + exc.start} "
        f"(byte 0x{exc.object[exc.start]:02x}); pass --encoding to read another encoding",
        path=path,
        line=lineno,
    )


@dataclass(frozen=True)
class ByteSpan:
    """The lines of a file that start in ``[start, end)``; the first is line ``first_line``.

    What one shard of ``mltl predict --shard I/N`` (or one torchrun rank) reads:
    :func:`mltl.sharding.shard_span` chooses spans on line or record boundaries."""

    start: int
    end: int
    first_line: int = 1


def iter_lines(
    path: str | Path, encoding: str = "utf-8", span: ByteSpan | None = None
) -> Generator[tuple[int, str], None, None]:
    """Yield ``(line_number, line)`` of a text file or ``-`` (stdin), streaming.

    Lines are returned without their line ending (LF or CRLF). Invalid bytes raise
    :class:`InputError` naming the file and the byte offset, instead of a traceback
    or silent replacement characters. ``.gz`` files are decompressed on the fly.
    ``span``: only the lines that start in that byte range (a plain file).
    """
    if span is not None:
        yield from _iter_span(Path(path), encoding, span)
        return
    if str(path) == STDIO:
        raw: IO[bytes] | gzip.GzipFile = sys.stdin.buffer
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
    lineno = 0
    try:
        lines = _gzip_checked(raw, name, lambda: lineno) if isinstance(raw, gzip.GzipFile) else enumerate(raw, 1)
        for lineno, bline in lines:
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


def _iter_span(p: Path, encoding: str, span: ByteSpan) -> Generator[tuple[int, str], None, None]:
    with open(p, "rb") as raw:
        raw.seek(span.start)
        offset = span.start
        lineno = span.first_line
        while offset < span.end:
            bline = raw.readline()
            if not bline:
                break
            try:
                line = bline.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _decode_error(str(p), exc, offset, encoding, lineno) from None
            except LookupError:
                raise InputError(f"unknown encoding {encoding!r}") from None
            if offset == 0 and line.startswith("\ufeff"):
                line = line[1:]
            offset += len(bline)
            yield lineno, line.rstrip("\r\n")
            lineno += 1


def _gzip_checked(raw, name: str, last_line) -> Iterator[tuple[int, bytes]]:
    """``enumerate(raw, 1)``; a compressed stream that ends early or is corrupt (a download cut
    short) becomes an :class:`InputError` naming the file and the last whole line."""
    it = enumerate(raw, start=1)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(
                f"compressed file is truncated or corrupt after line {last_line()} ({exc})", path=name
            ) from None
        yield item


def check_input_file(path: str | Path) -> None:
    """Raise :class:`InputError` unless ``path`` is ``-`` or an existing file (a directory
    is named as one: the files in it are what was meant)."""
    if str(path) == STDIO:
        return
    p = Path(path)
    if p.is_dir():
        raise InputError(
            f"is a directory, not a file; give the files in it ({os.path.join(str(path), '*')})", path=path
        )
    if not p.exists():
        raise InputError("no such file", path=path)
    if not p.is_file():
        raise InputError("not a regular file; pipe it in as stdin ('-') instead", path=path)


def check_nonempty(path: str | Path) -> None:
    """Raise :class:`InputError` if a (regular) file is empty."""
    if str(path) == STDIO:
        return
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", path=path)
    if p.is_file() and p.stat().st_size == 0:
        raise InputError("file is empty", path=path)


# errno of an OSError that says something about the place written to (or the machine),
# not about mltl: they become one line and exit 2, naming the path (mltl.cli.main too).
OUTPUT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENAMETOOLONG,
        errno.EIO,
    }
)
# errno of a failed write through an open file (no file name attached to the error)
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})
_HINTS = {errno.EFBIG: "over the file size limit: ulimit -f"}


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a directory (ENOTDIR, EEXIST)."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def output_error(exc: OSError, path: str | Path) -> InputError:
    """One line for an OSError met writing the output ``path``: the path and the reason."""
    target = Path(path)
    blocker = _file_in_the_way(target) if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.ENOENT) else None
    if blocker is not None:
        return InputError(f"cannot write the output here: {blocker} is a file, not a directory", path=target)
    return InputError(f"cannot write the output: {os_reason(exc)}", path=target)


def os_reason(exc: OSError) -> str:
    """The system's words for an OSError, with a hint for the less obvious ones."""
    reason = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno) if exc.errno is not None else None
    return f"{reason} ({hint})" if hint else reason


def _is_output_error(exc: BaseException, *places: Path) -> TypeGuard[OSError]:
    """An OSError from writing under ``places`` (or a plain write failure with no file name)."""
    if not isinstance(exc, OSError):
        return False
    if exc.filename is None:
        return exc.errno in _WRITE_ERRNOS
    name = str(exc.filename)
    return exc.errno in OUTPUT_ERRNOS and any(name == str(p) or name.startswith(str(p) + os.sep) for p in places)


def _check_output_parent(target: Path) -> None:
    """Create the directory an output goes into, or say in one line why it cannot be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, target) from None


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temp file beside ``path`` and rename it into place on success.

    ``path == '-'`` writes to stdout instead (nothing to rename). A file system error
    (no permission, disk full, read-only, a file where a directory should be) becomes
    an :class:`InputError` naming ``path``; the temp file is removed.
    """
    if str(path) == STDIO:
        if "b" in mode:
            yield sys.stdout.buffer
        else:
            yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory; give a file name for this output", path=target)
    _check_output_parent(target)
    tmp: str | None = None
    try:
        with signals.shielded():  # as in atomic_dir: the temp file is named before a signal lands
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            except OSError as exc:
                raise output_error(exc, target) from None
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        with io.open(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        signals.check()  # an interrupt Python dropped is still an interrupt: no commit
        with signals.shielded():
            os.replace(tmp, target)
    except BaseException as exc:
        if tmp is None:  # mkstemp itself failed (already an InputError)
            raise
        with signals.shielded():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if _is_output_error(exc, Path(tmp), target):
            raise output_error(exc, target) from None
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Build a directory under a temp name and rename it to ``path`` on success.

    Refuses an existing ``path`` unless ``force``; with ``force`` the old directory
    is replaced only once the new one is complete. File system errors while it is
    built become an :class:`InputError` naming ``path``; the temp directory is removed.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError("exists and is a file, not a directory; give a new directory name with -o", path=target)
    if target.exists() and not force:
        raise InputError("output directory exists; pass --force to overwrite it", path=target)
    _check_output_parent(target)
    if not os.access(target.parent, os.W_OK):
        raise InputError("output directory is not writable", path=target.parent)
    tmp: Path | None = None
    try:
        # A signal waits until the temp directory has a name here: one that arrived between
        # mkdtemp's mkdir and its return would leave the directory behind, unnamed.
        with signals.shielded():
            try:
                tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
            except OSError as exc:
                raise output_error(exc, target) from None
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        yield tmp
        signals.check()  # an interrupt Python dropped is still an interrupt: no commit
        with signals.shielded():
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
    except BaseException as exc:
        if tmp is None:  # mkdtemp itself failed (already an InputError), or a signal right after it
            raise
        with signals.shielded():
            shutil.rmtree(tmp, ignore_errors=True)
        if _is_output_error(exc, tmp, target):
            raise output_error(exc, target) from None
        raise
