"""A :class:`~mltl.config.TrainConfig` as a complete, commented TOML file (``mltl init config``).

Every key is written at its value, each under a comment taken from the field's help
(:mod:`mltl.setting`), so the file documents itself like ``spacy init config``'s. Keys whose
value is "not given" (``None``, an empty ``[data.files]``) are written commented out: TOML has
no null, and leaving them out keeps them at their default. ``mltl train --config FILE`` reads
the file back to the same config (``--dry-run`` prints it).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mltl.config import SECTIONS, TrainConfig


def _help(f: dataclasses.Field) -> str:
    return str(f.metadata.get("help") or "").strip()


def _comment_lines(text: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) if text else []


def render_toml(cfg: TrainConfig, header: str = "") -> str:
    """The TOML text of ``cfg``: every section and key, each with its help as a comment."""
    import tomlkit

    doc = tomlkit.document()
    for line in header.splitlines():
        doc.add(tomlkit.comment(line) if line.strip() else tomlkit.nl())
    if header:
        doc.add(tomlkit.nl())
    task_field = next(f for f in dataclasses.fields(TrainConfig) if f.name == "task")
    for line in _comment_lines(_help(task_field)):
        doc.add(tomlkit.comment(line))
    doc.add("task", cfg.task)
    for name, cls in SECTIONS.items():
        section = getattr(cfg, name)
        table = tomlkit.table()
        for f in dataclasses.fields(cls):
            value: Any = getattr(section, f.name)
            for line in _comment_lines(_help(f)):
                table.add(tomlkit.comment(line))
            if value is None or (isinstance(value, dict) and not value):
                example = '"…"' if value is None else "{}"
                table.add(tomlkit.comment(f"{f.name} = {example}   (not set)"))
            else:
                table.add(f.name, value)
        doc.add(tomlkit.nl())
        doc.add(name, table)
    if cfg.plugins:
        doc.add(tomlkit.nl())
        doc.add("plugins", dict(cfg.plugins))
    return tomlkit.dumps(doc)


__all__ = ["render_toml"]
