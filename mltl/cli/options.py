"""Typer options generated from config dataclasses (see :mod:`mltl.setting`).

``@with_settings(("training", TrainingConfig), …)`` adds one option per CLI field of each
dataclass to a command whose function ends in ``**settings``. Every generated option
defaults to ``None`` (= not given); :func:`given` returns what the user did give, nested by
section, so the library's own merge (dataclass defaults < task defaults < TOML < flags)
decides the rest. ``--help`` renders each default from the dataclass field, or from
``task_defaults`` where a task sets the field.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, Mapping, Optional, Sequence

import typer

from mltl.setting import default_of

Section = tuple[Optional[str], type]  # (section name or None for flat, dataclass)

_SEP = "__"


def _flag_names(f: dataclasses.Field, tp: Any) -> tuple[str, ...]:
    flags = f.metadata.get("flags")
    if flags:
        return tuple(flags)
    name = "--" + f.name.replace("_", "-")
    if tp is bool:
        return (f"{name}/--no-{name[2:]}",)
    return (name,)


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(type without Optional, whether it is a list)."""
    args = typing.get_args(tp)
    if args and type(None) in args:
        tp = next(a for a in args if a is not type(None))
    if typing.get_origin(tp) is list:
        return str, True  # a list is given as "a,b,c"
    return tp, False


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _default_text(
    f: dataclasses.Field, section: str | None, task_defaults: Mapping[str, Mapping[str, Mapping[str, Any]]] | None
) -> str:
    if f.metadata.get("default_help") is not None:
        return f.metadata["default_help"]
    if task_defaults and section:
        per_task = {t: d[section][f.name] for t, d in task_defaults.items() if f.name in d.get(section, {})}
        shown = {t: _render(v) for t, v in per_task.items()}
        if len(set(shown.values())) > 1 or (shown and len(shown) < len(task_defaults)):
            return ", ".join(f"{t} {v}" for t, v in shown.items())
        if shown:
            return next(iter(shown.values()))
    value = default_of(f)
    return "" if value is None or value == [] else _render(value)  # nothing to show for "not given"


def settings_params(sections: Sequence[Section], task_defaults: Mapping | None = None) -> list[inspect.Parameter]:
    """The generated options of ``sections``, in field order, as ``inspect.Parameter`` s."""
    params = []
    for section, cls in sections:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli", False):
                continue
            tp, _ = _base_type(hints[f.name])
            help_ = f.metadata.get("help", "")
            shown = _default_text(f, section, task_defaults)
            if shown:
                help_ = f"{help_} \\[default: {shown}]"
            opt = typer.Option(
                None,
                *_flag_names(f, tp),
                help=help_,
                rich_help_panel=f.metadata.get("panel"),
                show_default=False,
                metavar=f.metadata.get("metavar"),
            )
            name = f"{section}{_SEP}{f.name}" if section else f.name
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=Optional[tp]))
    return params


def with_settings(*sections: Section, task_defaults: Mapping | None = None) -> Callable:
    """Decorator: append the generated options to a command function taking ``**settings``."""

    def deco(func: Callable) -> Callable:
        sig = inspect.signature(func, eval_str=True)
        own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        params = own + settings_params(list(sections), task_defaults)
        func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        func.__annotations__ = {p.name: p.annotation for p in params}
        func.__settings_sections__ = list(sections)  # type: ignore[attr-defined]
        return func

    return deco


def given(settings: Mapping[str, Any], sections: Sequence[Section]) -> dict[str, Any]:
    """The options the user gave, nested by section: ``{"training": {"seed": 3}, "task": "…"}``.

    Comma-separated values of list fields become lists.
    """
    kinds = {}
    for section, cls in sections:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kinds[(section, f.name)] = _base_type(hints[f.name])[1]
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if value is None:
            continue
        section, _, name = key.rpartition(_SEP)
        sec = section or None
        if kinds.get((sec, name)):
            value = [v.strip() for v in str(value).split(",") if v.strip()]
        (out.setdefault(sec, {}) if sec else out)[name] = value
    return out
