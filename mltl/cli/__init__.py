"""The ``mltl`` command line: a thin Typer face over the library.

Each subcommand lives in its own module ``mltl/cli/<name>.py`` exposing
``register(app)``. Modules import torch/spaCy inside the command body only, so
``mltl --help`` stays well under a second.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Optional

import typer

from mltl import __version__, log
from mltl.errors import EXIT_INTERNAL, MltlError

# Order = order in --help. A module is listed here only once its command works.
COMMANDS = ["info", "prepare", "embed", "align", "train", "predict", "evaluate", "plugins"]

app = typer.Typer(
    name="mltl",
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
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                           help="Print the mltl version and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or info on stderr (errors only)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail; full traceback on errors."),
) -> None:
    log.configure(quiet=quiet, verbose=verbose)


for _name in COMMANDS:
    try:
        _mod = importlib.import_module(f"mltl.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"mltl.cli.{_name}":
            raise
        continue  # command not built yet: it does not appear in --help
    _mod.register(app)


GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """``mltl predict --quiet …`` means ``mltl --quiet predict …``: scripts put
    -q/-v after the command (as with pip or git's own flags), so accept both places."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    return flags + [a for a in argv[:end] if a not in GLOBAL_FLAGS] + argv[end:]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map errors to one line + exit code."""
    # Thread count and OpenMP wait policy before any command imports torch/numpy:
    # libgomp and OpenBLAS read them once, when they load (see mltl/runtime.py).
    from mltl.runtime import configure_threads

    configure_threads()
    try:
        app(args=hoist_global_flags(sys.argv[1:] if argv is None else list(argv)), prog_name="mltl")
    except MltlError as exc:
        if log.is_verbose():
            traceback.print_exc()
        log.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        log.error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # `mltl predict … | head`: the reader went away; end quietly (and keep Python's
        # exit-time flush of stdout from raising again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # an internal bug: one line, traceback only with -v
        if log.is_verbose():
            traceback.print_exc()
        log.error(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)")
        sys.exit(EXIT_INTERNAL)
