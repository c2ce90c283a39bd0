"""Messages through the standard ``logging`` module (logger ``"mltl"``); results go to stdout.

Library code calls :func:`info`, :func:`warning` and :func:`debug` (plain text, no markup),
which log to ``logging.getLogger("mltl")``. The library installs no handler of its own, so a
notebook user decides: ``logging.basicConfig(level=logging.INFO)`` shows the messages,
``logging.getLogger("mltl").setLevel(logging.ERROR)`` silences them, any handler redirects
them. The CLI calls :func:`configure`, which attaches one handler printing to stderr through
rich (``--quiet``: errors only; ``--verbose``: debug messages too). Progress bars appear only
on a terminal and only while the logger would show INFO messages.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger("mltl")
logger.addHandler(logging.NullHandler())  # no "No handlers could be found" and no lastResort echo


class _RichHandler(logging.Handler):
    """One line per record on stderr; warnings prefixed as ``warning:`` (the CLI's handler)."""

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        try:
            msg = escape(record.getMessage())
            if record.levelno >= logging.ERROR:
                msg = f"[bold red]error:[/bold red] [red]{msg}[/red]"
            elif record.levelno >= logging.WARNING:
                msg = f"[yellow]warning:[/yellow] {msg}"
            elif record.levelno < logging.INFO:
                msg = f"[dim]{msg}[/dim]"
            stderr_console().print(msg, soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging's contract: a failing handler must not raise
            self.handleError(record)


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """The CLI's logging: a rich handler on stderr at INFO (WARNING+ with ``quiet``, DEBUG with ``verbose``)."""
    for h in [h for h in logger.handlers if isinstance(h, _RichHandler)]:
        logger.removeHandler(h)
    logger.addHandler(_RichHandler())
    logger.propagate = False  # the CLI's handler is the only one: no double lines via the root logger
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)


def is_quiet() -> bool:
    """True when INFO messages (and progress) would not be shown."""
    return not logger.isEnabledFor(logging.INFO)


def is_verbose() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False)


def info(msg: str) -> None:
    logger.info(msg)


def warning(msg: str) -> None:
    logger.warning(msg)


def debug(msg: str) -> None:
    logger.debug(msg)


def error(msg: str) -> None:
    """The CLI's final error line: always printed on stderr, whatever the logging level."""
    from rich.markup import escape

    stderr_console().print(f"[bold red]error:[/bold red] [red]{escape(msg)}[/red]", soft_wrap=True)


def progress(**kwargs: Any):
    """A rich Progress on a terminal, disabled (no output) when quiet or not a TTY.

    Plain log lines for non-TTY runs are the caller's job (see :func:`info`).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    disable = is_quiet() or not sys.stderr.isatty()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        disable=disable,
        transient=False,
        **kwargs,
    )
