"""Console output: results to stdout, progress and messages to stderr.

``--quiet`` silences both progress and info; errors are always shown.
"""
from __future__ import annotations

import sys
from typing import Any

_state = {"quiet": False, "verbose": False}


def configure(quiet: bool = False, verbose: bool = False) -> None:
    _state["quiet"] = quiet
    _state["verbose"] = verbose


def is_quiet() -> bool:
    return _state["quiet"]


def is_verbose() -> bool:
    return _state["verbose"]


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False)


def info(msg: str) -> None:
    if not _state["quiet"]:
        stderr_console().print(msg)


def debug(msg: str) -> None:
    if _state["verbose"] and not _state["quiet"]:
        stderr_console().print(f"[dim]{msg}[/dim]")


def error(msg: str) -> None:
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

    disable = _state["quiet"] or not sys.stderr.isatty()
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=stderr_console(), disable=disable, transient=False, **kwargs)
