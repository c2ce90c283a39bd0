"""Registries of tasks, heads (predictors C) and encoders (feature extractors), and
plugin discovery through the entry-point group ``mltl.plugins``.

A plugin is a module named by an entry point::

    [project.entry-points."mltl.plugins"]
    crf = "mltl_crf"            # a module, or "pkg.mod:register" (a callable, called once)

Importing the module (or calling the callable) registers its components with the
``register_task`` / ``register_head`` / ``register_encoder`` decorators. The module
declares ``MLTL_API_VERSION``; a plugin for another API version, or one that fails
to import, is reported once (name + reason on stderr) and left out — everything
else keeps working. Its half-done registrations are rolled back.

The built-ins (``mltl.training.tasks``, ``mltl.models.heads``,
``mltl.models.encoders``) are loaded by exactly the same code, as entry points of
the distribution ``mltl``; the trainer only ever looks components up by name.

Discovery is lazy: nothing is imported until the first lookup (or ``mltl plugins``),
so ``mltl --help`` and importing this module stay cheap (no torch). Nothing is
imported from arbitrary paths: only declared entry points are loaded.
"""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from mltl.errors import InputError

if TYPE_CHECKING:
    from mltl.models.contracts import EncoderFactory, HeadFactory

T = TypeVar("T")

API_VERSION = 1  # the plugin API a plugin declares as MLTL_API_VERSION
GROUP = "mltl.plugins"  # entry-point group
BUILTIN_DIST = "mltl"

TASKS: dict[str, Any] = {}
HEADS: dict[str, Any] = {}
ENCODERS: dict[str, Any] = {}

_KINDS = {"task": TASKS, "head": HEADS, "encoder": ENCODERS}

# Built-in components, declared like third-party entry points and loaded by the same code.
BUILTIN_ENTRY_POINTS = [
    md.EntryPoint(name="builtin-tasks", value="mltl.training.tasks", group=GROUP),
    md.EntryPoint(name="builtin-heads", value="mltl.models.heads", group=GROUP),
    md.EntryPoint(name="builtin-encoders", value="mltl.models.encoders", group=GROUP),
]


@dataclass
class Plugin:
    """One entry point of the group, and what loading it did."""

    name: str  # entry-point name
    value: str  # "module" or "module:attr"
    dist: str | None  # distribution (pip name) that declares it
    version: str | None  # that distribution's version
    builtin: bool = False
    status: str = "not loaded"  # ok | error | api-mismatch | not loaded
    reason: str | None = None
    api_version: Any = None
    registers: list[str] = field(default_factory=list)  # ["head:crf", ...]

    @property
    def origin(self) -> str:
        return f"{self.dist} {self.version}" if self.dist else "(unknown distribution)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_state: dict[str, Any] = {"loaded": False, "plugins": [], "current": None}
# (kind, name) -> the Plugin that registered it (None: registered directly, e.g. in a notebook)
ORIGIN: dict[tuple[str, str], Plugin | None] = {}
# (kind, name) -> the module whose code registered it (to attribute modules imported early)
_MODULE: dict[tuple[str, str], str] = {}


# ------------------------------------------------------------------ registration
def _register(kind: str, name: str, *, replace: bool = False) -> Callable[[T], T]:
    table = _KINDS[kind]

    def deco(obj: T) -> T:
        if name in table and table[name] is not obj and not replace:
            where = ORIGIN.get((kind, name))
            by = f"plugin {where.name!r} ({where.origin})" if where else repr(table[name])
            raise ValueError(f"{kind} {name!r} is already registered by {by}")
        table[name] = obj
        import sys

        _MODULE[(kind, name)] = sys._getframe(1).f_globals.get("__name__", "")
        cur: Plugin | None = _state["current"]
        ORIGIN[(kind, name)] = cur
        if cur is not None and f"{kind}:{name}" not in cur.registers:
            cur.registers.append(f"{kind}:{name}")
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


# ------------------------------------------------------------------ discovery
def entry_points() -> list[Plugin]:
    """Declared third-party plugins (metadata only: nothing is imported)."""
    out = []
    seen = set()
    for ep in md.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        dname = dist.metadata["Name"] if dist is not None else None
        key = (ep.name, ep.value, dname)
        if key in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(key)
        out.append(Plugin(ep.name, ep.value, dname, dist.version if dist is not None else None))
    return sorted(out, key=lambda p: (p.name, p.dist or ""))


def _builtin_plugins() -> list[tuple[Plugin, md.EntryPoint]]:
    from mltl import __version__

    return [(Plugin(ep.name, ep.value, BUILTIN_DIST, __version__, builtin=True), ep) for ep in BUILTIN_ENTRY_POINTS]


def _third_party() -> list[tuple[Plugin, md.EntryPoint]]:
    eps = {(ep.name, ep.value): ep for ep in md.entry_points(group=GROUP)}
    return [(p, eps[(p.name, p.value)]) for p in entry_points() if (p.name, p.value) in eps]


def _snapshot() -> dict[str, dict[str, Any]]:
    return {k: dict(t) for k, t in _KINDS.items()}


def _rollback(snap: dict[str, dict[str, Any]]) -> None:
    for kind, table in _KINDS.items():
        for name in set(table) - set(snap[kind]):
            ORIGIN.pop((kind, name), None)
            _MODULE.pop((kind, name), None)
        table.clear()
        table.update(snap[kind])


def _load_one(p: Plugin, ep: md.EntryPoint) -> None:
    """Import one entry point (and call it if it names a callable); never raises."""
    import sys

    snap = _snapshot()
    _state["current"] = p
    try:
        obj = ep.load()
        mod = obj if not callable(obj) or isinstance(obj, type(sys)) else sys.modules.get(obj.__module__)
        api = getattr(mod, "MLTL_API_VERSION", API_VERSION if p.builtin else None)
        p.api_version = api
        if api != API_VERSION:
            _rollback(snap)
            p.registers.clear()
            p.status = "api-mismatch"
            p.reason = (
                f"declares no MLTL_API_VERSION; this mltl has plugin API {API_VERSION}"
                if api is None
                else f"targets mltl plugin API {api}, this mltl has API {API_VERSION}: install a "
                f"version of {p.dist or p.name} made for API {API_VERSION}, or a matching mltl"
            )
            return
        if callable(obj) and not isinstance(obj, type(sys)):
            obj()
        p.status = "ok"
        # components of this plugin's package registered before (e.g. its module was imported directly)
        top = ep.module
        for key, mod in _MODULE.items():
            if ORIGIN.get(key) is None and (mod == top or mod.startswith(top + ".")):
                ORIGIN[key] = p
                if f"{key[0]}:{key[1]}" not in p.registers:
                    p.registers.append(f"{key[0]}:{key[1]}")
    except Exception as exc:  # a broken plugin must not break mltl
        _rollback(snap)
        p.registers.clear()
        p.status = "error"
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        p.reason = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    finally:
        _state["current"] = None


def load_plugins(report: bool = True) -> list[Plugin]:
    """Load the built-ins and every declared plugin, once; returns them all.

    A plugin that fails (import error, API mismatch, name clash) is reported once
    on stderr when ``report`` is true, and left out.
    """
    if _state["loaded"]:
        return _state["plugins"]
    _state["loaded"] = True
    plugins: list[Plugin] = []
    for p, ep in [*_builtin_plugins(), *_third_party()]:
        _load_one(p, ep)
        plugins.append(p)
    _state["plugins"] = plugins
    if report:
        from mltl import log

        for p in plugins:
            if p.status != "ok":
                log.warning(
                    f"plugin {p.name!r} ({p.origin}) "
                    f"{'is for another API version' if p.status == 'api-mismatch' else 'failed to load'}"
                    f" and is ignored: {p.reason or ''}"
                )
    return plugins


def plugins() -> list[Plugin]:
    """Every plugin (built-ins first) with its load status."""
    return load_plugins(report=False)


def _failed_note() -> str:
    bad = [p for p in _state["plugins"] if p.status != "ok"]
    if not bad:
        return ""
    return "; not loaded: " + ", ".join(f"{p.name} ({p.reason})" for p in bad)


def _lookup(kind: str, name: str) -> Any:
    table = _KINDS[kind]
    if name not in table:
        load_plugins()
    if name not in table:
        known = ", ".join(sorted(table)) or "(none)"
        raise InputError(f"unknown {kind} {name!r}; known {kind}s: {known}{_failed_note()}")
    return table[name]


def get_task(name: str) -> Any:
    return _lookup("task", name)


def get_head(name: str) -> HeadFactory:
    """The predictor C registered as ``name`` (see :class:`mltl.models.contracts.HeadFactory`)."""
    return _lookup("head", name)


def get_encoder(name: str) -> EncoderFactory:
    """The Fs/Fp base registered as ``name`` (see :class:`mltl.models.contracts.EncoderFactory`)."""
    return _lookup("encoder", name)


def names(kind: str) -> list[str]:
    """Registered names of one kind (built-ins and plugins)."""
    load_plugins()
    return sorted(_KINDS[kind])


def origin(kind: str, name: str) -> Plugin | None:
    """The plugin that registered a component (after it was looked up)."""
    _lookup(kind, name)
    return ORIGIN.get((kind, name))


# ------------------------------------------------------------------ models remember their plugins
def provenance(components: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{"head:crf": "mltl-crf 0.1.0"}`` for the components that come from third-party plugins."""
    out = {}
    for kind, name in components:
        p = origin(kind, name)
        if p is not None and not p.builtin:
            out[f"{kind}:{name}"] = p.origin
    return out


def require(components: Iterable[tuple[str, str]], recorded: dict[str, str] | None = None) -> None:
    """Check that every component is registered; for a missing one, say which plugin to install.

    ``recorded`` is the provenance saved with a model (``config.plugins``).
    """
    recorded = recorded or {}
    for kind, name in components:
        if name in _KINDS[kind]:
            continue
        load_plugins()
        if name in _KINDS[kind]:
            continue
        dist = recorded.get(f"{kind}:{name}")
        broken = [p for p in _state["plugins"] if p.status != "ok" and dist and p.dist == dist.split()[0]]
        if broken:
            raise InputError(
                f"{kind} {name!r} comes from plugin {broken[0].name!r} ({broken[0].origin}), which "
                f"is installed but did not load: {broken[0].reason}"
            )
        if dist:
            pkg = dist.split()[0]
            raise InputError(
                f"{kind} {name!r} comes from the plugin package {dist}, which is not installed: "
                f"pip install {pkg} (then `mltl plugins` lists it)"
            )
        _lookup(kind, name)  # the generic "unknown ..." message


def _reset_for_tests() -> None:
    """Forget the third-party plugins (tests only)."""
    for p in _state["plugins"]:
        if not p.builtin:
            for item in p.registers:
                kind, name = item.split(":", 1)
                _KINDS[kind].pop(name, None)
                ORIGIN.pop((kind, name), None)
    _state.update(loaded=False, plugins=[])
