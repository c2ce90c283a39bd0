"""Typed training configuration: dataclass defaults < task defaults < TOML < CLI.

One :class:`TrainConfig` describes a run completely; the merged config is printed
by ``mltl train --dry-run`` and saved as ``config.json`` in every model directory.

TOML layout (every key optional; CLI flags override it)::

    task = "tagging"
    [data]
    sources = ["en", "es"]
    target = "de"
    data = "data/"
    vectors = "aligned/"
    [data.files.de]            # per-language paths override DATA/<lang>/...
    unlabeled = "other/de.jsonl"
    vectors = "vec/de.vec"
    [model]
    arch = "man_moe"
    hidden_size = 128
    [training]
    lambda1 = 1e-4
    batch_size = 16

Dotted overrides (``--set training.batch_size=32``) address the same keys.
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mltl.device import check_device
from mltl.errors import InputError

ARCHS = ("man_moe", "man", "bwe")
EXPERT_ACTIVATIONS = ("tanh", "relu", "none")   # mltl.models.moe._ACTIVATIONS
D_TEXTS = ("train", "unlabeled", "both")
TASKS = ("tagging", "classification")

# Appendix B, Table 6 (λ1, λ2, k) + batch sizes; CharCNN for NER, not for Amazon.
TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "tagging": {"training": {"lambda1": 1e-4, "lambda2": 0.01, "k": 1, "batch_size": 16},
                "model": {"char_cnn": True}},
    "classification": {"training": {"lambda1": 0.002, "lambda2": 0.1, "k": 1, "batch_size": 16},
                       "model": {"char_cnn": False}},
}


@dataclass
class DataConfig:
    data: str | None = None               # DIR with <lang>/{train,dev,test,unlabeled}.jsonl
    vectors: str | None = None            # DIR with <lang>.vec (aligned, one shared space)
    sources: list[str] = field(default_factory=list)
    target: str | None = None
    unlabeled: list[str] = field(default_factory=list)   # extra languages for D only
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # per-language path overrides
    lowercase: list[str] = field(default_factory=list)   # lowercase words before the vector lookup
    target_dev: str | None = None         # labeled target dev: selection is then NOT zero-resource
    d_text: str = "unlabeled"             # which text feeds D: train | unlabeled | both
    max_unlabeled: int = 50000            # sentences of unlabeled text read per language
    keep_vectors: int = 20000             # top-N frequent vectors kept per language (+ all seen words)
    float16: bool = False                 # store the model's vectors as float16
    strict_labels: bool = False           # refuse sources whose label sets differ
    max_word_len: int = 20                # characters per word seen by the CharCNN


@dataclass
class ModelConfig:
    arch: str = "man_moe"                 # man_moe | man (no MoE) | bwe (no MoE, no D)
    c_moe: bool = True                    # MoE in the predictor C
    fp_moe: bool = True                   # private extractor Fp (BiLSTM + MoE)
    adversary: bool = True                # language discriminator D (MAN)
    char_cnn: bool = True                 # task default: on for tagging, off for classification
    char_emb_size: int = 50               # not given in the paper
    char_kernels: int = 200
    char_widths: list[int] = field(default_factory=lambda: [3, 4, 5])
    char_out: int = 128
    lowercase_chars: bool = False         # e.g. German capitalises all nouns
    encoder: str = "bilstm"               # registry name of Fs/Fp's base (plugins may add encoders)
    head: str = ""                        # registry name of C; "" = the task's head
    hidden_size: int = 128                # Fs BiLSTM (both directions)
    private_hidden_size: int = 128        # Fp BiLSTM and its experts' output
    layers: int = 2
    expert_hidden: int = 128
    expert_activation: str = "tanh"       # Appendix B: tanh to match the LSTM features
    d_kernels: int = 200
    d_widths: list[int] = field(default_factory=lambda: [3, 4, 5])
    d_hidden: int = 128
    dropout: float = 0.5
    word_dropout: float = 0.0
    detach_gate: bool = False


@dataclass
class TrainingConfig:
    lambda1: float = 1e-4                 # task default (Appendix B, Table 6)
    lambda2: float = 0.01
    k: int = 1                            # D steps per F/C step
    share_d_batches: bool = True          # last D step reuses the main step's unlabeled batches
    batch_size: int = 16
    lr: float = 1e-3
    d_lr: float = 1e-3
    weight_decay: float = 1e-8
    max_epochs: int = 30
    max_steps: int = 0                    # 0 = no limit
    steps_per_epoch: int = 0              # 0 = one pass over the largest source
    patience: int = 5                     # epochs without dev improvement; 0 = off
    checkpoint_every: int = 500           # iterations; 0 = only at epoch ends
    seed: int = 1
    device: str = "auto"                  # auto | cpu | cuda | cuda:N
    amp: bool = False                     # mixed precision on CUDA
    threads: int = 0                      # torch CPU threads; 0 = torch's default
    eval_batch_size: int = 256


@dataclass
class TrainConfig:
    task: str = "tagging"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    # Components from third-party plugins, e.g. {"head:crf": "mltl-crf 0.1.0"}: filled by
    # the trainer, so a model can name the plugin package it needs.
    plugins: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @property
    def all_langs(self) -> list[str]:
        """Δ: sources, target, then extra unlabeled languages (D's classes)."""
        out: list[str] = []
        for lang in [*self.data.sources, self.data.target, *self.data.unlabeled]:
            if lang and lang not in out:
                out.append(lang)
        return out


SECTIONS = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig}


def _deep_update(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict) and k != "files":
            _deep_update(base[k], v)
        else:
            base[k] = v
    return base


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check/convert one value to its declared type, with a message naming the key."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
        return _coerce(value, tp, where)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise InputError(f"config key {where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], where) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"config key {where}: expected a table, got {value!r}")
        return value
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise InputError(f"config key {where}: expected true/false, got {value!r}")
        return value
    if tp in (int, float):
        if isinstance(value, bool):
            raise InputError(f"config key {where}: expected a number, got {value!r}")
        try:
            if tp is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return tp(value) if not isinstance(value, str) else tp(float(value) if tp is float else int(value))
        except (TypeError, ValueError):
            raise InputError(f"config key {where}: expected {tp.__name__}, got {value!r}") from None
    if tp is str:
        return str(value)
    return value


def from_dict(d: dict[str, Any]) -> TrainConfig:
    """Build a typed config; unknown keys and wrong types raise :class:`InputError`."""
    d = dict(d)
    task = d.pop("task", "tagging")
    plugins = d.pop("plugins", None) or {}
    if not isinstance(plugins, dict) or not all(isinstance(v, str) for v in plugins.values()):
        raise InputError("config key plugins: expected a table of strings")
    sections = {}
    for name, cls in SECTIONS.items():
        raw = d.pop(name, {}) or {}
        if not isinstance(raw, dict):
            raise InputError(f"config section [{name}] must be a table")
        hints = typing.get_type_hints(cls)
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise InputError(f"unknown config key(s) in [{name}]: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(known))}")
        sections[name] = cls(**{k: _coerce(v, hints[k], f"{name}.{k}") for k, v in raw.items()})
    if d:
        raise InputError(f"unknown config key(s): {', '.join(sorted(d))}")
    return TrainConfig(task=str(task), **sections, plugins=dict(plugins))


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise InputError("no such config file", path=p)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid TOML file: {exc}", path=p) from None


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["training.batch_size=32", "model.c_moe=false"]`` → nested dict (values as TOML)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--set expects KEY=VALUE (e.g. training.batch_size=32), got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare string
        parts = key.strip().split(".")
        cur = out
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return out


def merge(*layers: dict[str, Any]) -> TrainConfig:
    """Defaults < task defaults < each layer in order; then resolve ``arch``."""
    merged: dict[str, Any] = {}
    for layer in layers:
        _deep_update(merged, json.loads(json.dumps(layer)))  # deep copy
    task = merged.get("task", "tagging")
    task_defaults = TASK_DEFAULTS.get(task)
    if task_defaults is None:
        from mltl.registry import get_task

        # a plugin task (its own Appendix-B-like defaults, if any), or a clear error
        task_defaults = get_task(task).defaults
    base = TrainConfig(task=task).to_dict()
    _deep_update(base, json.loads(json.dumps(task_defaults)))
    _deep_update(base, merged)
    cfg = from_dict(base)
    return resolve(cfg)


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Apply ``arch`` and check enumerations (the ablation flags stay explicit)."""
    m = cfg.model
    if m.arch not in ARCHS:
        raise InputError(f"unknown --arch {m.arch!r}; choose from {', '.join(ARCHS)}")
    if m.arch in ("man", "bwe"):
        m.c_moe = False
        m.fp_moe = False
    if m.arch == "bwe":
        m.adversary = False
    if cfg.data.d_text not in D_TEXTS:
        raise InputError(f"unknown --d-text {cfg.data.d_text!r}; choose from {', '.join(D_TEXTS)}")
    if m.expert_activation not in EXPERT_ACTIVATIONS:
        raise InputError(f"unknown --expert-activation {m.expert_activation!r}; choose from "
                         f"{', '.join(EXPERT_ACTIVATIONS)}")
    t = cfg.training
    check_device(t.device)
    for name in ("max_steps", "steps_per_epoch", "patience", "checkpoint_every", "threads"):
        if getattr(t, name) < 0:
            raise InputError(f"training.{name} must be 0 or more, got {getattr(t, name)}")
    if m.layers < 1:
        raise InputError(f"model.layers must be at least 1, got {m.layers}")
    for name in ("batch_size", "k", "max_epochs"):
        if getattr(t, name) < 1:
            raise InputError(f"training.{name} must be at least 1, got {getattr(t, name)}")
    if not 0 <= m.dropout < 1 or not 0 <= m.word_dropout < 1:
        raise InputError("dropout and word dropout must be in [0, 1)")
    if m.hidden_size % 2 or m.private_hidden_size % 2:
        raise InputError("BiLSTM hidden sizes must be even (half per direction)")
    return cfg


def components(cfg: TrainConfig) -> list[tuple[str, str]]:
    """The registry components a config uses: [("task", ..), ("head", ..), ("encoder", ..)].

    Loads plugins as needed; a component that is missing raises an :class:`InputError`
    naming the plugin package to install when the config recorded one.
    """
    from mltl.registry import get_task, require

    require([("task", cfg.task)], cfg.plugins)
    task = get_task(cfg.task)
    comps = [("task", cfg.task), ("head", cfg.model.head or task.head), ("encoder", cfg.model.encoder)]
    require(comps, cfg.plugins)
    from mltl.registry import get_head

    head = get_head(comps[1][1])
    tl = getattr(head, "token_level", None)
    if tl is not None and tl != task.token_level:
        raise InputError(f"head {comps[1][1]!r} predicts one label per {'token' if tl else 'sentence'}, but task "
                         f"{cfg.task!r} has one per {'token' if task.token_level else 'sentence'}")
    return comps


def config_from_json(text: str) -> TrainConfig:
    return resolve(from_dict(json.loads(text)))


def replace(cfg: TrainConfig, **sections: dict[str, Any]) -> TrainConfig:
    """A copy with some fields of some sections changed."""
    d = cfg.to_dict()
    for name, changes in sections.items():
        d[name].update(changes)
    return resolve(from_dict(d))


__all__ = ["TrainConfig", "DataConfig", "ModelConfig", "TrainingConfig", "merge", "load_toml", "parse_set",
           "config_from_json", "replace", "components", "TASK_DEFAULTS", "dataclasses"]
