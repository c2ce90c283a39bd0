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

from mltl.device import DEFAULT_DEVICE, DEVICES, check_device
from mltl.errors import InputError
from mltl.setting import setting

ARCHS = ("man_moe", "man", "bwe")
EXPERT_ACTIVATIONS = ("tanh", "relu", "none")  # mltl.models.moe._ACTIVATIONS
D_TEXTS = ("train", "unlabeled", "both")
_DATA, _MODEL, _TRAIN = "Data", "Model", "Training"  # --help panels

# Appendix B, Table 6 (λ1, λ2, k) + batch sizes; CharCNN for NER, not for Amazon.
TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "tagging": {
        "training": {"lambda1": 1e-4, "lambda2": 0.01, "k": 1, "batch_size": 16, "length_buckets": 1},
        "model": {"char_cnn": True},
    },
    "classification": {
        "training": {"lambda1": 0.002, "lambda2": 0.1, "k": 1, "batch_size": 16, "length_buckets": 50},
        "model": {"char_cnn": False},
    },
}


@dataclass
class DataConfig:
    data: str | None = setting(
        None, help="Directory of `mltl prepare` outputs: DATA/<lang>/.", panel=_DATA, metavar="<dir>"
    )
    vectors: str | None = setting(
        None, help="Directory of aligned vectors: DIR/<lang>.vec (.bin, .npy).", panel=_DATA, metavar="<dir>"
    )
    sources: list[str] = setting(
        factory=list, help="Comma-separated labeled source languages.", panel=_DATA, metavar="<langs>"
    )
    target: str | None = setting(None, help="Target language (unlabeled text only).", panel=_DATA, metavar="<lang>")
    unlabeled: list[str] = setting(
        factory=list,
        help="Extra comma-separated languages whose unlabeled text feeds D.",
        panel=_DATA,
        metavar="<langs>",
        default_help="none",
    )
    # per-language path overrides ([data.files.<lang>] in TOML)
    files: dict[str, dict[str, str]] = setting(
        factory=dict,
        cli=False,
        help="Per-language path overrides: [data.files.<lang>] train/dev/test/unlabeled/vectors.",
    )
    lowercase: list[str] = setting(
        factory=list,
        help="Comma-separated languages looked up lowercased in their vectors.",
        panel=_DATA,
        metavar="<langs>",
        default_help="none",
    )
    target_dev: str | None = setting(
        None,
        help="Labeled target dev JSONL for model selection (metrics are then marked NOT zero-resource).",
        panel=_DATA,
        metavar="<file>",
    )
    target_train: str | None = setting(
        None,
        help="A few labeled target sentences (a dataset directory from `mltl prepare`, or its train.jsonl), "
        "trained on like a source's (C loss; no expert of their own). Metrics are then marked NOT zero-resource.",
        panel=_DATA,
        metavar="<dir|file>",
    )
    d_text: str = setting("unlabeled", help="Text that feeds D: train | unlabeled | both.", panel=_DATA)
    max_unlabeled: int = setting(50000, help="Unlabeled sentences read per language.", panel=_DATA)
    keep_vectors: int = setting(
        20000, help="Top-N frequent vectors kept per language besides the words seen in the data.", panel=_DATA
    )
    float16: bool = setting(
        False,
        help="Store the model's vectors as float16.",
        flags="--float16/--float32",
        default_help="float32",
        panel=_DATA,
    )
    strict_labels: bool = setting(
        False,
        help="Refuse sources whose label sets differ.",
        flags="--strict/--no-strict",
        default_help="union + warning",
        panel=_DATA,
    )
    max_word_len: int = setting(20, help="Characters per word seen by the CharCNN.", cli=False)


@dataclass
class ModelConfig:
    arch: str = setting("man_moe", help="man_moe | man (no MoE) | bwe (shared tagger, no MoE, no D).", panel=_MODEL)
    c_moe: bool = setting(True, help="MoE in the predictor C.", panel=_MODEL)
    fp_moe: bool = setting(True, help="Private extractor Fp (BiLSTM + MoE).", panel=_MODEL)
    adversary: bool = setting(True, help="Language discriminator D (MAN).", panel=_MODEL)
    char_cnn: bool = setting(True, help="CharCNN word features.", panel=_MODEL)  # the task sets it
    char_emb_size: int = setting(50, help="Character embedding size (not given in the paper).", panel=_MODEL)
    char_kernels: int = setting(200, cli=False, help="CharCNN filters per width (Appendix B).")
    char_widths: list[int] = setting(factory=lambda: [3, 4, 5], cli=False, help="CharCNN filter widths.")
    char_out: int = setting(128, cli=False, help="CharCNN output size per word.")
    lowercase_chars: bool = setting(
        False, help="Lowercase before the CharCNN (e.g. German capitalises all nouns).", panel=_MODEL
    )
    char_lowercase: list[str] = setting(
        factory=list,
        help="Comma-separated languages whose characters the CharCNN sees lowercased; --lowercase-chars "
        "does it for all (the paper does that when German, which capitalises every noun, is the target).",
        panel=_MODEL,
        metavar="<langs>",
        default_help="none",
    )
    encoder: str = setting(
        "bilstm", help="Fs/Fp feature extractor by registry name (plugins may add encoders).", panel=_MODEL
    )
    head: str = setting(
        "",
        help="Predictor C by registry name, e.g. crf from the mltl-crf plugin.",
        default_help="the task's",
        panel=_MODEL,
    )
    hidden_size: int = setting(128, help="Fs BiLSTM size (both directions).", panel=_MODEL)
    private_hidden_size: int = setting(128, help="Fp BiLSTM / expert output size.", panel=_MODEL)
    layers: int = setting(2, help="BiLSTM layers.", panel=_MODEL)
    expert_hidden: int = setting(128, help="Experts' hidden layer.", panel=_MODEL)
    expert_activation: str = setting(
        "tanh",
        help="Last activation of Fp's experts: tanh | relu | none (Appendix B: tanh, to match the LSTM features).",
        panel=_MODEL,
    )
    d_kernels: int = setting(200, cli=False, help="D's CNN filters per width.")
    d_widths: list[int] = setting(factory=lambda: [3, 4, 5], cli=False, help="D's CNN filter widths.")
    d_hidden: int = setting(128, cli=False, help="D's hidden layer.")
    dropout: float = setting(0.5, help="Dropout.", panel=_MODEL)
    word_dropout: float = setting(0.0, help="Replace words by <unk> in training.", panel=_MODEL)
    detach_gate: bool = setting(False, help="Gates read detached features.", panel=_MODEL)


@dataclass
class TrainingConfig:
    lambda1: float = setting(1e-4, help="λ1, weight of −J_D (Appendix B, Table 6).", panel=_TRAIN)
    lambda2: float = setting(0.01, help="λ2, weight of the gate losses.", panel=_TRAIN)
    k: int = setting(1, help="D steps per F/C step.", panel=_TRAIN)
    share_d_batches: bool = setting(
        True,
        flags="--share-d-batches/--fresh-d-batches",
        default_help="share",
        panel=_TRAIN,
        help="The last D step reuses the unlabeled batches of the main step's −λ1·J_D term (Fs runs once on them); "
        "--fresh-d-batches samples separately as Algorithm 1 is written.",
    )
    # Why not by default: the CharCNN's rows for characters that only unlabeled text has (a
    # zero-resource target's ä/ö/ü/ß when no source is German) get no gradient from the task,
    # so −λ1·J_D is their *only* gradient, and Adam, which divides every parameter's step by
    # its own gradient scale, moves them at the full learning rate however small λ1 is: the
    # target's own characters were learnt to fool D and nothing else (docs/benchmarks.md,
    # "2026-12-04, night"). Algorithm 1 line 22 updates Fs, Fp and C.
    adversary_chars: bool = setting(
        False,
        cli=False,
        help="Let −λ1·J_D's gradient reach the CharCNN (the word representation), not only Fs.",
    )
    batch_size: int = setting(16, help="Sentences per language and step.", panel=_TRAIN)
    # Why random batches for tagging: its loss is the mean over the batch's *tokens*, so with
    # length-sorted batches a short sentence weighs as much as a whole batch of long ones; on
    # gold CoNLL es that cut in-language dev F1 at 1,000 steps from 0.40-0.42 to 0.28-0.32
    # (docs/benchmarks.md, "length-sorted batches"). A sentence-level loss weighs every
    # sentence the same either way, and long reviews pad expensively: classification sorts.
    length_buckets: int = setting(
        1,
        help="Draw each batch from a chunk of N batches sorted by sentence length (less padding); 1 = random batches.",
        panel=_TRAIN,
    )
    lr: float = setting(1e-3, help="Adam learning rate (Fs, Fp, C).", panel=_TRAIN)
    d_lr: float = setting(1e-3, help="Adam learning rate of D.", panel=_TRAIN)
    weight_decay: float = setting(1e-8, help="Adam weight decay.", panel=_TRAIN)
    max_epochs: int = setting(
        30,
        flags=("--max-epochs", "--epochs"),
        help="Evaluations (epochs) at most; training stops at this or --max-steps, whichever comes first.",
        panel=_TRAIN,
    )
    max_steps: int = setting(0, help="Stop after N iterations; 0 = none.", panel=_TRAIN)
    steps_per_epoch: int = setting(
        0, help="Iterations between evaluations; 0 = one pass over the largest source.", panel=_TRAIN
    )
    patience: int = setting(5, help="Early stop after N evaluations without improvement; 0 = off.", panel=_TRAIN)
    checkpoint_every: int = setting(
        500, help="Checkpoint every N iterations (and every epoch); 0 = epochs only.", panel=_TRAIN
    )
    seed: int = setting(1, help="Random seed (the same seed gives the same model on CPU).", panel=_TRAIN)
    init_model: str | None = setting(
        None,
        help="Start from this model's weights, vocabulary and labels (a model directory; its [model] "
        "settings are used) instead of from scratch: a few hundred steps with --target-train then "
        "fine-tune the previous round's model.",
        panel=_TRAIN,
        metavar="<dir>",
    )
    device: str = setting(DEFAULT_DEVICE, help=f"{DEVICES}.", panel=_TRAIN)
    amp: bool = setting(False, help="bfloat16 autocast on CUDA.", panel=_TRAIN)
    threads: int = setting(0, help="CPU threads for torch; 0 = torch's default.", default_help="torch's", panel=_TRAIN)
    eval_batch_size: int = setting(256, help="Sentences per batch in dev evaluation.", cli=False)


@dataclass
class TrainConfig:
    task: str = setting("tagging", help="tagging | classification | a plugin's task (see `mltl plugins`).")
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
            raise InputError(
                f"unknown config key(s) in [{name}]: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        sections[name] = cls(**{k: _coerce(v, hints[k], f"{name}.{k}") for k, v in raw.items()})
    if d:
        raise InputError(f"unknown config key(s): {', '.join(sorted(d))}")
    return TrainConfig(task=str(task), **sections, plugins=dict(plugins))


def load_toml(path: str | Path) -> dict[str, Any]:
    """A config layer from a TOML file — or from a run's ``config.json`` (``.json``), so that a run
    can be repeated with a few changes (``mltl train --config OLD/config.json --seed 2``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such config file", path=p)
    if p.suffix.lower() == ".json":
        try:
            layer = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not a valid JSON config: {exc}", path=p) from None
        if not isinstance(layer, dict):
            raise InputError("a JSON config is an object of sections", path=p)
        return layer
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
        raise InputError(
            f"unknown --expert-activation {m.expert_activation!r}; choose from {', '.join(EXPERT_ACTIVATIONS)}"
        )
    t = cfg.training
    check_device(t.device)
    for name in ("max_steps", "steps_per_epoch", "patience", "checkpoint_every", "threads"):
        if getattr(t, name) < 0:
            raise InputError(f"training.{name} must be 0 or more, got {getattr(t, name)}")
    if m.layers < 1:
        raise InputError(f"model.layers must be at least 1, got {m.layers}")
    for name in ("batch_size", "k", "max_epochs", "length_buckets"):
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
        raise InputError(
            f"head {comps[1][1]!r} predicts one label per {'token' if tl else 'sentence'}, but task "
            f"{cfg.task!r} has one per {'token' if task.token_level else 'sentence'}"
        )
    return comps


def config_from_json(text: str) -> TrainConfig:
    d = json.loads(text)
    training = d.get("training") if isinstance(d, dict) else None
    if isinstance(training, dict) and "length_buckets" not in training:
        # a run saved before the setting existed drew every batch from 50 length-sorted
        # ones: resumed, it goes on the way it began
        training["length_buckets"] = 50
    if isinstance(training, dict) and "adversary_chars" not in training:
        # a run saved before the setting existed let D's gradient reach the CharCNN: resumed,
        # it goes on the way it began
        training["adversary_chars"] = True
    return resolve(from_dict(d))


def replace(cfg: TrainConfig, **sections: dict[str, Any]) -> TrainConfig:
    """A copy with some fields of some sections changed."""
    d = cfg.to_dict()
    for name, changes in sections.items():
        d[name].update(changes)
    return resolve(from_dict(d))


__all__ = [
    "TrainConfig",
    "DataConfig",
    "ModelConfig",
    "TrainingConfig",
    "merge",
    "load_toml",
    "parse_set",
    "config_from_json",
    "replace",
    "components",
    "TASK_DEFAULTS",
    "dataclasses",
]
