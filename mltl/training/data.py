"""Everything a training run reads: datasets per language, vectors, vocabularies.

All input checks happen here, *before* the output directory is created, so bad
input (a source without data, a target listed as a source, vectors of another
dimension, a language without vectors) ends with one :class:`InputError` naming
the file and leaves nothing behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mltl import log
from mltl.config import TrainConfig
from mltl.errors import InputError
from mltl.models.featurize import PAD_WORD, UNK_WORD, EncodedCorpus, Featurizer, char_lowercasing
from mltl.registry import get_task
from mltl.training.tasks import Task

SPLITS = ("train", "dev", "test", "unlabeled")


@dataclass
class LangData:
    lang: str
    train: list[list[str]] = field(default_factory=list)
    train_labels: list[Any] = field(default_factory=list)
    dev: list[list[str]] = field(default_factory=list)
    dev_labels: list[Any] = field(default_factory=list)
    unlabeled: list[list[str]] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)


@dataclass
class RunData:
    """Encoded corpora and the pieces of the model directory (vocab, vectors, labels), with the
    :class:`~mltl.training.tasks.Task` they were read for."""

    task: Task
    labels: list[str]
    scheme: str | None
    featurizer: Featurizer
    vectors: dict[str, np.ndarray]
    train: dict[str, EncodedCorpus]  # per source
    dev: dict[str, EncodedCorpus]  # per source (+ "target" key for --target-dev)
    # train: per source, + the target's own language key with --target-train (C loss, no gate loss)
    dev_gold: dict[str, list[Any]]
    d_text: dict[str, EncodedCorpus]  # per language of Δ (only with the adversary)
    target_eval: dict[str, tuple[EncodedCorpus, list[Any]]]  # reported only, never for selection
    warnings: list[str] = field(default_factory=list)
    init_state: dict[str, Any] | None = None  # --init-model: the weights to start from


def split_path(cfg: TrainConfig, lang: str, split: str) -> Path | None:
    """Per-language override from the config, else ``DATA/<lang>/<split>.jsonl``."""
    over = cfg.data.files.get(lang, {})
    if split in over:
        return Path(over[split])
    if cfg.data.data is None:
        return None
    return Path(cfg.data.data) / lang / f"{split}.jsonl"


def read_split(path: Path, task: Task, labeled: bool, limit: int | None = None) -> tuple[list[list[str]], list[Any]]:
    from mltl.data.jsonl import read_jsonl

    own = task.read_split(path, labeled, limit)
    if own is not None:  # a plugin task with its own reader
        return own

    sents: list[list[str]] = []
    labels: list[Any] = []
    for lineno, rec in read_jsonl(path):
        why = task.check_record(rec, labeled)
        if why:
            raise InputError(why, path=path, line=lineno)
        if not rec["tokens"]:
            continue  # an empty sentence carries nothing (and an LSTM cannot pack it)
        sents.append(rec["tokens"])
        if labeled:
            lab = rec[task.label_key]
            labels.append(task.read_label(lab))
        if limit is not None and len(sents) >= limit:
            break
    return sents, labels


def _meta(cfg: TrainConfig, lang: str) -> dict | None:
    p = split_path(cfg, lang, "train")
    meta = (p.parent / "meta.json") if p is not None else None
    if meta is None or not meta.is_file():
        return None
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"corrupt meta.json ({exc})", path=meta) from None


def check_languages(cfg: TrainConfig) -> None:
    d = cfg.data
    if not d.sources:
        raise InputError("no source languages: pass --sources, e.g. --sources en,es")
    if len(set(d.sources)) != len(d.sources):
        raise InputError(f"a source language is listed twice: {','.join(d.sources)}")
    if not d.target:
        raise InputError("no target language: pass --target, e.g. --target de")
    if d.target in d.sources:
        raise InputError(
            f"target language {d.target!r} is also a source; a zero-resource target has no "
            f"labels: remove it from --sources"
        )
    from mltl.langs import check_lang

    for lang in cfg.all_langs:  # the rule of --lang: the codes name files of the model directory
        if check_lang(lang) != lang:
            raise InputError(f"language code {lang!r}: write it as {check_lang(lang)!r}")
    if d.data is None and not d.files:
        raise InputError("no data: pass --data DIR (prepared with `mltl prepare`) or [data.files] in the config")
    if (
        d.vectors is None
        and not cfg.training.init_model  # --init-model brings its own (pruned) vectors
        and not all("vectors" in d.files.get(lang, {}) for lang in cfg.all_langs)
    ):
        raise InputError("no vectors: pass --vectors DIR holding <lang>.vec for every language")


def vectors_path(cfg: TrainConfig, lang: str) -> Path:
    from mltl.embeddings.vectors import resolve_path

    over = cfg.data.files.get(lang, {}).get("vectors")
    if over:
        return resolve_path(over)
    base = Path(cfg.data.vectors)  # type: ignore[arg-type]
    if not base.is_dir():
        raise InputError("vectors directory does not exist", path=base)
    try:
        return resolve_path(base / lang)
    except InputError:
        raise InputError(
            f"no vectors for language {lang!r} (looked for {lang}.vec, {lang}.bin, {lang}.npy, {lang}/)",
            path=base / f"{lang}.vec",
        ) from None


def read_languages(cfg: TrainConfig, task: Task) -> tuple[dict[str, LangData], list[str]]:
    warnings: list[str] = []
    out: dict[str, LangData] = {}
    for lang in cfg.data.sources:
        ld = LangData(lang)
        tp = split_path(cfg, lang, "train")
        if tp is None or not tp.is_file():
            raise InputError(f"source language {lang!r} has no training data", path=tp or lang)
        meta = _meta(cfg, lang)
        if meta and meta.get("task") not in (None, cfg.task):
            raise InputError(
                f"dataset is for task {meta.get('task')!r}, not {cfg.task!r}", path=tp.parent / "meta.json"
            )
        ld.train, ld.train_labels = read_split(tp, task, True)
        if not ld.train:
            raise InputError(f"source language {lang!r} has no training data (file has no sentences)", path=tp)
        ld.paths["train"] = str(tp)
        dp = split_path(cfg, lang, "dev")
        if dp is not None and dp.is_file():
            ld.dev, ld.dev_labels = read_split(dp, task, True)
            ld.paths["dev"] = str(dp)
        if not ld.dev:
            # No dev set: hold out every 10th training sentence, deterministically.
            n = len(ld.train)
            hold = set(range(9, n, 10)) if n >= 10 else set()
            ld.dev = [s for i, s in enumerate(ld.train) if i in hold]
            ld.dev_labels = [y for i, y in enumerate(ld.train_labels) if i in hold]
            ld.train = [s for i, s in enumerate(ld.train) if i not in hold]
            ld.train_labels = [y for i, y in enumerate(ld.train_labels) if i not in hold]
            warnings.append(f"{lang}: no dev set ({dp}); holding out {len(ld.dev)} training sentences")
        out[lang] = ld
    need_text = cfg.model.adversary
    for lang in cfg.all_langs:
        ld = out.setdefault(lang, LangData(lang))
        up = split_path(cfg, lang, "unlabeled")
        if need_text and cfg.data.d_text in ("unlabeled", "both") or lang not in cfg.data.sources:
            if up is not None and up.is_file():
                ld.unlabeled, _ = read_split(up, task, False, cfg.data.max_unlabeled)
                ld.paths["unlabeled"] = str(up)
        if need_text and not ld.unlabeled and lang not in cfg.data.sources:
            role = "target" if lang == cfg.data.target else "unlabeled"
            raise InputError(
                f"{role} language {lang!r} has no unlabeled text for the language discriminator "
                f"(or pass --no-adversary)",
                path=up or lang,
            )
        if need_text and not ld.unlabeled and cfg.data.d_text != "train" and lang in cfg.data.sources:
            warnings.append(f"{lang}: no unlabeled text ({up}); D reads its training text instead")
    return out, warnings


def collect_labels(
    cfg: TrainConfig, task: Task, langs: dict[str, LangData], warnings: list[str]
) -> tuple[list[str], str | None]:
    per: dict[str, set[str]] = {}
    for lang in cfg.data.sources:
        ys = langs[lang].train_labels + langs[lang].dev_labels
        per[lang] = {t for y in ys for t in task.label_set(y)}
    union = set().union(*per.values())
    differ = [lang for lang, s in per.items() if s != union]
    if differ:
        detail = "; ".join(f"{lang} lacks {','.join(sorted(union - per[lang]))}" for lang in differ)
        if cfg.data.strict_labels:
            raise InputError(
                f"label sets differ between sources ({detail}); drop --strict to use their union",
                path=langs[differ[0]].paths.get("train"),
            )
        warnings.append(f"label sets differ between sources ({detail}); training on their union")
    scheme = None
    if task.token_level:
        meta = _meta(cfg, cfg.data.sources[0])
        scheme = (meta or {}).get("scheme")
        if scheme is None:
            scheme = "bio" if all(t == "O" or t[:2] in ("B-", "I-", "E-", "S-") for t in union) else "plain"
    labels = sorted(union)
    if task.token_level and "O" in labels:
        labels.remove("O")
        labels.insert(0, "O")
    return labels, scheme


def prune_vectors(vecs, needed: set[str], keep_top: int, lowercase: bool) -> tuple[list[str], np.ndarray]:
    """Rows a run needs: every word seen in its data, plus the top-N frequent ones.

    Row 0 is padding and row 1 unknown (both zero vectors). A lowercased language (its
    words are looked up lowercased) gets one row per lowercased form, the vector of the
    form's most frequent casing (:func:`first_casing`): lowercased words then find cased
    vectors ("haus" gets "Haus"'s) instead of being unknown.
    """
    if lowercase:
        from mltl.embeddings.vectors import first_casing

        first = first_casing(vecs.words)
        top = {w.lower() for w in vecs.words[:keep_top]}
        keys = sorted({k for k in (top | {w.lower() for w in needed}) if k in first}, key=first.__getitem__)
        order = np.array([first[k] for k in keys], dtype=np.int64)
        words = [PAD_WORD, UNK_WORD] + keys
    else:
        index = vecs.index
        rows = set(range(min(keep_top, len(vecs.words))))
        for w in needed:
            for key in (w, w.lower()):
                i = index.get(key)
                if i is not None:
                    rows.add(i)
        order = np.array(sorted(rows), dtype=np.int64)
        words = [PAD_WORD, UNK_WORD] + [vecs.words[i] for i in order]
    mat = np.zeros((len(order) + 2, vecs.dim), dtype=np.float32)
    if len(order):
        mat[2:] = np.asarray(vecs.matrix[order], dtype=np.float32)
    return words, mat


def target_train_path(spec: str) -> Path:
    """``--target-train``: a dataset directory (its train.jsonl) or a JSONL file."""
    p = Path(spec)
    if p.is_dir():
        if not (p / "train.jsonl").is_file():
            raise InputError("no train.jsonl in this directory (prepare the labeled target data first)", path=p)
        return p / "train.jsonl"
    if not p.is_file():
        raise InputError("no such target training data", path=p)
    return p


def read_target_train(cfg: TrainConfig, task: Task, labels: list[str]) -> tuple[list[list[str]], list[Any]] | None:
    """The labeled target sentences of ``--target-train``, checked against the sources' labels."""
    if not cfg.data.target_train:
        return None
    p = target_train_path(cfg.data.target_train)
    meta = p.parent / "meta.json"
    if meta.is_file():
        try:
            m = json.loads(meta.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"corrupt meta.json ({exc})", path=meta) from None
        if m.get("language") not in (None, cfg.data.target):
            raise InputError(
                f"target training data is {m.get('language')!r} text, the target is {cfg.data.target!r}", path=meta
            )
        if m.get("task") not in (None, cfg.task):
            raise InputError(f"dataset is for task {m.get('task')!r}, not {cfg.task!r}", path=meta)
    sents, ys = read_split(p, task, True)
    if not sents:
        raise InputError("target training data has no sentences", path=p)
    unknown = {t for y in ys for t in task.label_set(y)} - set(labels)
    if unknown:
        raise InputError(
            f"labels not seen in any source: {', '.join(sorted(unknown))} (the model's labels come from the sources)",
            path=p,
        )
    return sents, ys


def load_run_data(cfg: TrainConfig, target_dev: str | None = None) -> RunData:
    from mltl.embeddings.vectors import CaseFolded, load_vectors

    task = get_task(cfg.task)
    check_languages(cfg)
    target = cfg.data.target
    assert target is not None  # check_languages raised otherwise
    langs, warnings = read_languages(cfg, task)
    labels, scheme = collect_labels(cfg, task, langs, warnings)
    init = load_init_model(cfg, labels) if cfg.training.init_model else None
    if init is not None:
        labels, scheme = list(init.labels), init.scheme
    label_id = {lab: i for i, lab in enumerate(labels)}

    tdev = None
    tdev_path = target_dev or cfg.data.target_dev
    if tdev_path:
        p = Path(tdev_path)
        if not p.is_file():
            raise InputError("no such target dev file", path=p)
        tdev = read_split(p, task, True)
        unknown = {t for y in tdev[1] for t in task.label_set(y)} - set(labels)
        if unknown:
            raise InputError(f"labels not seen in any source: {', '.join(sorted(unknown))}", path=p)
    ttrain = read_target_train(cfg, task, labels)
    target_eval_raw: dict[str, tuple[list[list[str]], list[Any]]] = {}
    for split in ("dev", "test"):
        path = split_path(cfg, target, split)
        if path is not None and path.is_file():
            s, y = read_split(path, task, True)
            ok = all(task.label_set(yy) <= set(labels) for yy in y)
            if s and ok:
                target_eval_raw[split] = (s, y)

    # Vectors: one language at a time, only the rows the run needs (peak memory = those rows).
    vectors: dict[str, np.ndarray] = {}
    vocabs: dict[str, list[str]] = {}
    dim = None
    first = None
    for lang in cfg.all_langs if init is None else []:
        vp = vectors_path(cfg, lang)
        needed: set[str] = set()
        ld = langs[lang]
        for sents in (ld.train, ld.dev, ld.unlabeled):
            for sent in sents:
                needed.update(sent)
        if lang == cfg.data.target:
            for s, _ in target_eval_raw.values():
                for x in s:
                    needed.update(x)
            if tdev:
                for x in tdev[0]:
                    needed.update(x)
            if ttrain:
                for x in ttrain[0]:
                    needed.update(x)
        # Only the rows prune_vectors can pick (the top ones and the data's words, as written
        # and lowercased) are ever held: a 2,000,000-word .vec is not materialised.
        lower = lang in cfg.data.lowercase
        # lowercased languages keep every casing of their words (the most frequent one is used)
        keys = CaseFolded(w.lower() for w in needed) if lower else needed | {w.lower() for w in needed}
        vecs = load_vectors(vp, duplicates="first", keep=keys, keep_top=cfg.data.keep_vectors)
        if dim is None:
            dim, first = vecs.dim, vp
        elif vecs.dim != dim:
            raise InputError(
                f"vectors have dimension {vecs.dim} but {first} has {dim}; all languages must share one aligned space",
                path=vp,
            )
        vocabs[lang], vectors[lang] = prune_vectors(vecs, needed, cfg.data.keep_vectors, lower)
        del vecs
        log.debug(f"{lang}: kept {len(vocabs[lang]) - 2} vectors from {vp}")

    if init is not None:  # its vocabulary, characters and vectors: words it lacks are unknown
        feat = init.featurizer
        vectors = {lang: init.vectors[lang] for lang in cfg.all_langs}
    else:
        char_text = {lang: langs[lang].train + langs[lang].unlabeled for lang in cfg.all_langs}
        if ttrain:
            char_text[target] = char_text[target] + ttrain[0]
        chars = Featurizer.build_chars(char_text, char_lowercasing(cfg.model))
        feat = Featurizer(
            vocabs,
            chars,
            lowercase=cfg.data.lowercase,
            lowercase_chars=char_lowercasing(cfg.model),
            max_word_len=cfg.data.max_word_len,
        )

    def encode(lang: str, sents: list[list[str]], ys: list[Any] | None) -> EncodedCorpus:
        c = feat.encode(lang, sents)
        if ys is not None:
            c.labels = task.encode_labels(ys, label_id)  # flat tag ids, class ids, multi-hot rows, ...
        return c

    train = {lang: encode(lang, langs[lang].train, langs[lang].train_labels) for lang in cfg.data.sources}
    if ttrain:
        train[target] = encode(target, ttrain[0], ttrain[1])
    dev = {lang: encode(lang, langs[lang].dev, None) for lang in cfg.data.sources}
    dev_gold = {lang: langs[lang].dev_labels for lang in cfg.data.sources}
    if tdev:
        dev["target"] = encode(target, tdev[0], None)
        dev_gold["target"] = tdev[1]
    d_text: dict[str, EncodedCorpus] = {}
    if cfg.model.adversary:
        for lang in cfg.all_langs:
            ld = langs[lang]
            if lang in cfg.data.sources and (cfg.data.d_text in ("train", "both") or not ld.unlabeled):
                sents = ld.train + (ld.unlabeled if cfg.data.d_text == "both" else [])
            else:
                sents = ld.unlabeled
            d_text[lang] = encode(lang, sents, None)
    target_eval = {split: (encode(target, s, None), y) for split, (s, y) in target_eval_raw.items()}
    init_state = init.net.state_dict() if init is not None else None
    return RunData(task, labels, scheme, feat, vectors, train, dev, dev_gold, d_text, target_eval, warnings, init_state)


def load_init_model(cfg: TrainConfig, labels: list[str]):
    """``--init-model``: the model to start from. It must have been trained for this task, with
    these sources (its experts) and vectors for every language of the run; its [model] settings
    and its vocabulary settings replace the run's, so that its weights fit and it loads back."""
    from mltl.models.model import load_model, resolve_model_dir

    path = resolve_model_dir(cfg.training.init_model)  # type: ignore[arg-type]
    init = load_model(path, device="cpu")
    if init.config.task != cfg.task:
        raise InputError(f"--init-model was trained for task {init.config.task!r}, not {cfg.task!r}", path=path)
    if list(init.sources) != list(cfg.data.sources):
        raise InputError(
            f"--init-model has the source experts {','.join(init.sources)}; this run's sources are "
            f"{','.join(cfg.data.sources)} (they must be the same, in the same order)",
            path=path,
        )
    missing = [lang for lang in cfg.all_langs if lang not in init.vectors]
    if missing:
        raise InputError(f"--init-model has no vectors for {', '.join(missing)}", path=path)
    new = sorted(set(labels) - set(init.labels))
    if new:
        raise InputError(f"the data has labels --init-model does not know: {', '.join(new)}", path=path)
    if cfg.model != init.config.model:
        log.info(f"--init-model: using its [model] settings ({path / 'config.json'})")
    cfg.model = init.config.model
    cfg.data.lowercase = list(init.config.data.lowercase)
    cfg.data.max_word_len = init.config.data.max_word_len
    return init
