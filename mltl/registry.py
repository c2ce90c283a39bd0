"""Registries of tasks, heads (predictors C) and encoders (feature extractors).

Built-ins register themselves here when their module is imported; the trainer
looks them up *by name* (the name stored in ``config.json``), so a plugin can
later add a task or head without touching the trainer. Entry-point discovery
(group ``mltl.plugins``) is a later issue: it only has to import the plugin
modules, whose decorators then fill these dicts.

Importing this module is cheap (no torch); the built-in modules that need torch
are imported lazily by :func:`load_builtins`.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

from mltl.errors import InputError

T = TypeVar("T")

TASKS: dict[str, Any] = {}
HEADS: dict[str, Any] = {}
ENCODERS: dict[str, Any] = {}

_KINDS = {"task": TASKS, "head": HEADS, "encoder": ENCODERS}
# Modules whose import registers the built-ins (torch-free tasks first).
_BUILTIN_MODULES = {
    "task": ["mltl.training.tasks"],
    "head": ["mltl.models.heads"],
    "encoder": ["mltl.models.encoders"],
}


def _register(kind: str, name: str, *, replace: bool = False) -> Callable[[T], T]:
    table = _KINDS[kind]

    def deco(obj: T) -> T:
        if name in table and table[name] is not obj and not replace:
            raise ValueError(f"{kind} {name!r} is already registered (by {table[name]!r})")
        table[name] = obj
        return obj

    return deco


def register_task(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Decorator: register a task (reader fields + label handling + metric + head name)."""
    return _register("task", name, replace=replace)


def register_head(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Decorator: register a predictor head class (the paper's C)."""
    return _register("head", name, replace=replace)


def register_encoder(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Decorator: register a feature-extractor class (the paper's Fs / Fp base)."""
    return _register("encoder", name, replace=replace)


def load_builtins(kind: str) -> None:
    for mod in _BUILTIN_MODULES[kind]:
        importlib.import_module(mod)


def _lookup(kind: str, name: str) -> Any:
    table = _KINDS[kind]
    if name not in table:
        load_builtins(kind)
    if name not in table:
        known = ", ".join(sorted(table)) or "(none)"
        raise InputError(f"unknown {kind} {name!r}; known {kind}s: {known}")
    return table[name]


def get_task(name: str) -> Any:
    return _lookup("task", name)


def get_head(name: str) -> Any:
    return _lookup("head", name)


def get_encoder(name: str) -> Any:
    return _lookup("encoder", name)


def names(kind: str) -> list[str]:
    """Registered names of one kind (built-ins included)."""
    load_builtins(kind)
    return sorted(_KINDS[kind])
