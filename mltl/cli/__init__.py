"""The ``mltl`` command line: a thin Typer face over the library.

Each subcommand lives in its own module ``mltl/cli/<name>.py`` exposing
``register(app)``. Modules import torch/spaCy inside the command body only, so
``mltl --help`` stays well under a second.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import traceback
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from mltl import __version__, log, signals
from mltl.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, MltlError

# Order = order in --help. A module is listed here only once its command works.
COMMANDS = [
    "info",
    "init",
    "prepare",
    "embed",
    "align",
    "train",
    "predict",
    "merge",
    "select",
    "evaluate",
    "package",
    "plugins",
]


class _PassThrough(BaseException):
    """Carries a KeyboardInterrupt or a broken pipe past Typer to :func:`main`.

    Typer's own handling would end both silently: Ctrl-C as exit 130 with no message,
    a broken pipe (``mltl predict … | head``) as exit 1. (mltl's own signal handler
    raises :class:`mltl.signals.Interrupted`, which Typer does not catch.)"""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


def _flags_without_type(params: list[Any]) -> list[Any]:
    """Typer's rich help prints every option's type, flags too (`--force <bool>`), although a
    flag takes no value. The type column shows an option's metavar when it has one (as set
    by ``typer.Option(metavar=...)``): an empty one for every boolean flag, here once for all
    commands (``--help`` included, which click creates per command)."""
    for param in params:
        if getattr(param, "is_bool_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _PassThrough(exc) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise _PassThrough(exc) from None
            raise


app = typer.Typer(
    name="mltl",
    cls=_Group,
    help="Zero-resource multilingual NLP: train on labeled source languages, "
    "tag or classify a target language with no labels (MAN-MoE).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mltl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the mltl version and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or info on stderr (errors only)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail; full traceback on errors."),
) -> None:
    from mltl.distributed import world

    # under torchrun the other ranks print errors only: one log, one progress bar (rank 0's)
    log.configure(quiet=quiet or not world().is_main, verbose=verbose)


for _name in COMMANDS:
    try:
        _mod = importlib.import_module(f"mltl.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"mltl.cli.{_name}":
            raise
        continue  # command not built yet: it does not appear in --help
    _mod.register(app)
for _info in app.registered_commands:
    if _info.cls in (None, TyperCommand):  # app.command()'s default: the same class with flags untyped
        _info.cls = _Command


GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """``mltl predict --quiet …`` means ``mltl --quiet predict …``: scripts put
    -q/-v after the command (as with pip or git's own flags), so accept both places."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    return flags + [a for a in argv[:end] if a not in GLOBAL_FLAGS] + argv[end:]


# Old spellings that still work, with one warning line: (command, flag) -> replacement tokens.
DEPRECATED_FLAGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("prepare", "--unlabeled"): ("--task", "unlabeled"),  # --unlabeled names languages in train
    ("align", "-m"): ("--method",),  # -m is --model in predict and evaluate
}


def rewrite_deprecated(argv: list[str]) -> tuple[list[str], list[str]]:
    """Replace deprecated flags (:data:`DEPRECATED_FLAGS`) in ``argv``; returns (argv, warnings)."""
    end = argv.index("--") if "--" in argv else len(argv)
    command = next((a for a in argv[:end] if not a.startswith("-")), None)
    out: list[str] = []
    notes: list[str] = []
    for i, a in enumerate(argv):
        new = DEPRECATED_FLAGS.get((command, a)) if i < end and command is not None else None
        if new is None:
            out.append(a)
            continue
        out.extend(new)
        notes.append(
            f"`mltl {command} {a}` is deprecated: use `{' '.join(new)}`{' VALUE' if len(new) == 1 else ''}"
            " (the old spelling goes away in mltl 0.3)"
        )
    return out, notes


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map errors to one line + exit code.

    Exit codes: 0 ok (also when the reader of stdout went away), 1 internal error,
    2 bad input (and file system errors: no permission, disk full …), 130 Ctrl-C,
    143 SIGTERM. Interrupts run the same cleanup: temp outputs are removed.
    """
    # Thread count and OpenMP wait policy before any command imports torch/numpy:
    # libgomp and OpenBLAS read them once, when they load (see mltl/runtime.py).
    from mltl.runtime import configure_threads

    configure_threads()
    from mltl.text import tokenize

    tokenize.SPACY_WITHOUT_TORCH = True  # prepare/embed tokenize with spaCy and never need torch
    signals.install()
    try:
        try:
            args, notes = rewrite_deprecated(hoist_global_flags(sys.argv[1:] if argv is None else list(argv)))
            if notes and not set(args) & {"-q", "--quiet"}:
                for note in notes:
                    log.stderr_console().print(f"[yellow]warning:[/yellow] {note}", markup=True, soft_wrap=True)
            try:
                app(args=args, prog_name="mltl")
            except SystemExit as done:
                if not done.code:  # success: unless an interrupt landed where Python drops exceptions
                    signals.check()
                raise
        except _PassThrough as exc:
            raise exc.exc from None
        finally:
            if sys.stdout is not None:
                sys.stdout.flush()  # here, not at interpreter exit, where a broken pipe cannot be handled
    except SystemExit as exc:
        if exc.code == 130 and signals.received() == signal.SIGTERM:
            sys.exit(signals.exit_code(signal.SIGTERM))  # train stopped itself (checkpoint) on SIGTERM
        raise
    except MltlError as exc:
        if log.is_verbose():
            traceback.print_exc()
        log.error(str(exc))
        sys.exit(exc.exit_code)
    except (signals.Interrupted, KeyboardInterrupt) as exc:
        signals.ignore()  # a second Ctrl-C does not cut this line short
        signum = getattr(exc, "signum", None) or signals.received()
        if log.is_verbose():
            traceback.print_exc()
        log.error(f"interrupted by {signals.describe(signum)}; partial output files removed")
        sys.exit(signals.exit_code(signum))
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            # `mltl predict … | head`: the reader went away; end quietly (and keep Python's
            # exit-time flush of stdout from raising again).
            _drop_stdout()
            sys.exit(0)
        from mltl.files import OUTPUT_ERRNOS, os_reason

        if exc.errno not in OUTPUT_ERRNOS:
            _internal(exc)
        # no permission, disk full, read-only, a file in place of a directory: the machine, not mltl
        if log.is_verbose():
            traceback.print_exc()
        log.error(f"{exc.filename}: {os_reason(exc)}" if exc.filename else f"cannot write: {os_reason(exc)}")
        _drop_stdout()  # stdout on a full disk (`> /dev/full`) must not fail again at exit
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:
        _internal(exc)


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what Python still holds for it cannot be written anyway."""
    if sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _internal(exc: Exception) -> None:
    """An internal bug: one line, traceback only with -v."""
    if log.is_verbose():
        traceback.print_exc()
    log.error(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)")
    sys.exit(EXIT_INTERNAL)
