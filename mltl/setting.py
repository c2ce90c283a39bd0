"""One declaration per setting: default, command-line flag and help, on the config dataclass.

A config field declared with :func:`setting` carries its ``--help`` text and flag names in
``dataclasses.Field.metadata``; :mod:`mltl.cli.options` turns those fields into the options
of ``mltl train``, ``align`` and ``embed``. The default lives only in the dataclass, so the
help, the CLI and the Python API cannot disagree about it (``mltl train --help`` renders
``[default: …]`` from the field itself, or from the task's defaults where a task sets it).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

_MISSING: Any = dataclasses.MISSING


def setting(
    default: Any = _MISSING,
    *,
    help: str = "",
    flags: tuple[str, ...] | str | None = None,
    cli: bool = True,
    default_help: str | None = None,
    factory: Callable[[], Any] | None = None,
    panel: str | None = None,
    metavar: str | None = None,
) -> Any:
    """A dataclass field with CLI metadata.

    ``flags``: the option's names (default ``--field-name``; a boolean's default is
    ``--field-name/--no-field-name``); ``cli=False`` keeps a field out of the command line
    (``--set``/TOML still reach it); ``default_help`` replaces the rendered default in
    ``--help`` (e.g. ``"torch's"`` for ``threads = 0``); ``panel`` groups options in ``--help``,
    ``metavar`` names the value there.
    """
    if isinstance(flags, str):
        flags = (flags,)
    meta = {"help": help, "flags": flags, "cli": cli, "default_help": default_help, "panel": panel, "metavar": metavar}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def default_of(f: dataclasses.Field) -> Any:
    """The field's default value (calling its factory)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default
