"""SIGINT and SIGTERM end a command the same way: cleanup runs, one line, exit 128 + signal.

The CLI calls :func:`install` first thing. The handler raises :class:`Interrupted`, so
``finally`` blocks and the atomic-output context managers of :mod:`mltl.files` remove
their temp files, and ``mltl.cli.main`` prints one line and exits 130 (Ctrl-C) or 143
(SIGTERM). ``Interrupted`` derives from ``BaseException``, not ``KeyboardInterrupt``:
no library's ``except KeyboardInterrupt`` (Typer's among them, which would end the
process silently) can swallow it. A command that handles Ctrl-C itself (``mltl
train`` installs its own SIGINT handler: checkpoint, then stop) gets SIGTERM through
that same handler, called with ``signal.SIGTERM``, so that it can say which signal it got.

:func:`shielded` keeps a signal from cutting short a block that must run whole (removing
a temp directory, the renames that put an output in place): a signal that arrives
inside is raised when the block ends.

Python runs a signal handler between two bytecodes of whatever Python code is running,
and an exception raised in some places is printed and dropped instead of propagated: a
weakref callback (importlib's module-lock clean-up during a lazy import), ``__del__``, a
GC callback. An interrupt raised there was lost: ``prepare`` went on and exited 0 (seen
once in ``.ci/run``). :func:`install` therefore also hooks :data:`sys.unraisablehook`: a
dropped :class:`Interrupted` is kept, and :func:`check` raises it again where it can
propagate; the atomic outputs call it before they commit, and the CLI before it exits.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Any, Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)
NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}

_state: dict = {"received": None, "shield": 0, "pending": None, "installed": False, "lost": None}


class Interrupted(BaseException):
    """Raised by mltl's handler for SIGINT or SIGTERM; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _handler(signum: int, frame) -> None:
    if _state["received"] is None:
        _state["received"] = signum
    if signum != signal.SIGINT:
        own = signal.getsignal(signal.SIGINT)
        if callable(own) and own is not _handler and own is not signal.default_int_handler:
            own(signum, frame)  # the command's own Ctrl-C handling (train: checkpoint, stop), told which
            return
    if _state["shield"]:
        _state["pending"] = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """Handle SIGINT and SIGTERM as above; a signal the parent set to be ignored stays ignored."""
    for sig in HANDLED:
        try:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue  # e.g. `cmd &` in a script ignores SIGINT: respect it
            signal.signal(sig, _handler)
        except ValueError:  # not the main thread (an embedding application): leave signals alone
            return
    _state["installed"] = True
    if getattr(sys.unraisablehook, "__name__", "") != _unraisable.__name__:
        _state["next_hook"] = sys.unraisablehook
        sys.unraisablehook = _unraisable


def _unraisable(info: Any) -> None:
    """An :class:`Interrupted` Python could not propagate (see the module docstring): kept
    for :func:`check`, not printed; anything else goes to the previous hook."""
    if isinstance(info.exc_value, Interrupted):
        if _state["lost"] is None:
            _state["lost"] = info.exc_value.signum
        return
    _state.get("next_hook", sys.__unraisablehook__)(info)


def check() -> None:
    """Raise an interrupt that was delivered where Python had to drop it (see above)."""
    lost = _state["lost"]
    if lost is not None:
        _state["lost"] = None
        raise Interrupted(lost)


def ignore() -> None:
    """No interrupts from now on: the process is ending, and its last line prints whole.

    (SIG_IGN, not a Python handler: Python resets those to the default at exit, where a
    late second Ctrl-C would then kill the process by the signal instead of exit 130.)"""
    if _state["installed"]:
        for sig in HANDLED:
            with contextlib.suppress(ValueError):
                signal.signal(sig, signal.SIG_IGN)


def received() -> int | None:
    """The first SIGINT/SIGTERM this process got through :func:`install`'s handler, if any."""
    return _state["received"]


def exit_code(signum: int | None) -> int:
    """The shell's convention: 128 + the signal number (130 Ctrl-C, 143 SIGTERM)."""
    return 128 + int(signum or signal.SIGINT)


def describe(signum: int | None) -> str:
    return NAMES.get(signum or signal.SIGINT, f"signal {signum}")


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Delay SIGINT/SIGTERM until the block ends (then raise :class:`Interrupted`)."""
    _state["shield"] += 1
    try:
        yield
    finally:
        _state["shield"] -= 1
        pending = _state["pending"]
        if pending is not None and not _state["shield"]:
            _state["pending"] = None
            raise Interrupted(pending)
