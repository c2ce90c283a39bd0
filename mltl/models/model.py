"""A trained model: network + featurizer + labels + config; save and load it.

Model directory (self-contained: no original vector files needed)::

    mltl-model.json     format version, mltl version, task, languages
    config.json         the full merged training config
    weights.pt          state dict (torch.save; loaded with weights_only=True)
    labels.json         {"labels": [...], "scheme": "bio" | "plain" | null}
    chars.json          the shared character vocabulary (CharCNN)
    vocab/<lang>.txt    one word per line; line i = row i of vectors/<lang>.npy
    vectors/<lang>.npy  pruned aligned vectors (float32, or float16 with --float16)
    metrics.json        dev scores of this model, zero-resource or not
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from mltl import __version__
from mltl.device import DEFAULT_DEVICE, pick_device
from mltl.errors import InputError
from mltl.files import atomic_dir

if TYPE_CHECKING:
    from mltl.training.tasks import Task

FORMAT = 1
MARKER = "mltl-model.json"


def build_network(cfg, n_labels: int, n_chars: int, emb_dim: int, labels: list[str] | None = None):
    """The :class:`ManMoE` a config describes: head (``model.head`` or the task's) and encoder
    looked up by name in :mod:`mltl.registry`, built-in or plugin alike."""
    from mltl.config import components
    from mltl.models.man_moe import ManMoE

    m = cfg.model
    head = dict(components(cfg))["head"]  # a missing plugin: says which package to install
    return ManMoE(
        task_head=head,
        labels=labels,
        n_labels=n_labels,
        sources=cfg.data.sources,
        langs=cfg.all_langs,
        emb_dim=emb_dim,
        n_chars=n_chars,
        char_cnn=m.char_cnn,
        char_emb_size=m.char_emb_size,
        char_kernels=m.char_kernels,
        char_widths=tuple(m.char_widths),
        char_out=m.char_out,
        encoder=m.encoder,
        shared_hidden=m.hidden_size,
        private_hidden=m.private_hidden_size,
        layers=m.layers,
        expert_hidden=m.expert_hidden,
        fp_moe=m.fp_moe,
        c_moe=m.c_moe,
        adversary=m.adversary,
        d_kernels=m.d_kernels,
        d_widths=tuple(m.d_widths),
        d_hidden=m.d_hidden,
        expert_activation=m.expert_activation,
        dropout=m.dropout,
        word_dropout=m.word_dropout,
        detach_gate=m.detach_gate,
    )


class Model:
    """What ``mltl predict`` and notebooks use: ``predict_batch`` on token lists."""

    def __init__(
        self, config, net, featurizer, labels: list[str], scheme: str | None, vectors: dict[str, np.ndarray]
    ) -> None:
        self.config = config
        self.net = net
        self.featurizer = featurizer
        self.labels = labels
        self.scheme = scheme
        self.vectors = vectors  # the pruned tables (as stored), for saving
        self._pending: dict[str, Any] = {}  # add_language's vectors, rows taken as words come
        self._pending_folded: dict[str, dict[str, int]] = {}  # their lowercased index, when needed

    @property
    def task(self) -> Task:
        """The registered :class:`~mltl.training.tasks.Task` this model was trained for."""
        from mltl.registry import get_task

        return get_task(self.config.task)

    @property
    def languages(self) -> list[str]:
        return list(self.featurizer.vocabs)

    @property
    def sources(self) -> list[str]:
        return list(self.config.data.sources)

    @property
    def device(self):
        return next(self.net.parameters()).device

    def check_lang(self, lang: str) -> None:
        """Raise :class:`InputError` unless the model has vectors for ``lang``."""
        if lang not in self.featurizer.vocabs:
            raise InputError(f"this model has no vectors for language {lang!r}; it knows {', '.join(self.languages)}")

    def add_language(self, lang: str, vectors_path: str | Path) -> None:
        """Zero-shot to a language unseen at training: add its (aligned) vectors.

        The vectors must live in the model's shared space (``mltl align`` with the
        model's hub). The model then predicts ``lang`` like its own target.

        Rows are taken lazily: the file's vocabulary is read now (a compact file stays
        memory-mapped), and :meth:`predict_batch` copies in the rows of the words it meets,
        so a 2,000,000-word file costs its vocabulary, not a 2.4 GB float32 table. Word
        ids follow first use; the vectors a word gets are those the whole table would give.
        """
        from mltl.embeddings.vectors import load_vectors
        from mltl.models.featurize import PAD_WORD, UNK_WORD

        vecs = load_vectors(vectors_path, float32=False)
        dim = next(iter(self.vectors.values())).shape[1]
        if vecs.dim != dim:
            raise InputError(f"vectors have dimension {vecs.dim}, the model's have {dim}", path=vectors_path)
        self._pending[lang] = vecs
        self.featurizer.vocabs[lang] = [PAD_WORD, UNK_WORD]
        self.featurizer.index[lang] = {PAD_WORD: 0, UNK_WORD: 1}
        self.vectors[lang] = np.zeros((2, dim), dtype=np.float32)
        self.net.embeddings.set_language(lang, self.vectors[lang])
        self.net.to(self.device)

    def _take_rows(self, lang: str, sentences: Sequence[Sequence[str]]) -> None:
        """Copy into ``lang``'s table the rows of the words of ``sentences`` it lacks (a language
        added by :meth:`add_language`): the lookup the featurizer makes (the form, else its
        lowercase; lowercase only for lowercased languages) then finds what the full table has."""
        vecs = self._pending.get(lang)
        if vecs is None:
            return
        index, have = vecs.index, self.featurizer.index[lang]
        lower = lang in self.featurizer.lowercase
        if lower:  # a lowercased word takes the row of its most frequent casing, as in training
            if lang not in self._pending_folded:
                from mltl.embeddings.vectors import first_casing

                self._pending_folded[lang] = first_casing(vecs.words)
            index = self._pending_folded[lang]
        new: dict[str, int] = {}
        seen: set[str] = set()
        for s in sentences:
            for form in s:
                if form in seen:
                    continue
                seen.add(form)
                for key in (form.lower(),) if lower else (form, form.lower()):
                    if key in have or key in new:
                        break
                    row = index.get(key)
                    if row is not None:
                        new[key] = row
                        break
        if not new:
            return
        order = sorted(new.items(), key=lambda kv: kv[1])  # file order: sequential reads of the map
        rows = np.asarray(vecs.matrix[np.array([r for _, r in order], dtype=np.int64)], dtype=np.float32)
        words = self.featurizer.vocabs[lang]
        for w, _ in order:
            have[w] = len(words)
            words.append(w)
        self.vectors[lang] = np.concatenate([self.vectors[lang], rows])
        self.net.embeddings.set_language(lang, self.vectors[lang])
        self.net.to(self.device)

    def run(self, corpus, batch_size: int = 256):
        """Yield (sentence indices, Output) over an encoded corpus, in eval mode.

        Sentences are sorted by length (less padding). The CharCNN — the costliest part on
        a CPU — runs once per distinct word form and is cached across calls
        (:meth:`_form_char_embeddings`); in eval mode this equals ``self.net(batch)``.
        """
        import torch

        token_level = self.task.token_level
        order = np.argsort(corpus.lengths, kind="stable")
        was_training = self.net.training
        self.net.eval()
        net = self.net
        try:
            with torch.inference_mode():
                char_emb = self._form_char_embeddings(corpus) if net.charcnn is not None else None
                for idx in _length_batches(order, corpus.lengths, batch_size, self.MAX_BATCH_TOKENS):
                    b = corpus.batch(idx, with_chars=False, with_labels=False, token_level=token_level).to(self.device)
                    x = net.embeddings(b.lang, b.words)
                    if char_emb is not None:
                        forms = torch.from_numpy(np.maximum(corpus.padded(idx, corpus.flat_forms, 0), 0))
                        x = torch.cat([x, char_emb[forms.to(self.device)]], dim=-1)
                    yield idx, net.predict_from(x, net.fs(x, b.lengths), b.lengths, b.mask)
        finally:
            self.net.train(was_training)

    MAX_BATCH_TOKENS = 16_384  # padded tokens per batch: long documents make smaller batches
    CHAR_CACHE_SIZE = 100_000  # word forms; 128 floats each = 51 MB, so memory stays flat

    def _form_char_embeddings(self, corpus):
        """CharCNN output for every form of ``corpus`` (n_forms, D), through a bounded cache
        keyed by the form's char ids (the CharCNN's whole input)."""
        import torch

        keys = [r.tobytes() for r in corpus.form_chars]
        cache = getattr(self, "_char_cache", None)
        # Tensors count in-place updates (optimizer steps): a cache built under other weights,
        # e.g. an earlier dev evaluation during training, must not be reused.
        version = tuple(p._version for p in self.net.charcnn.parameters())
        if cache is not None and cache["version"] != version:
            cache = None
        new: dict[bytes, int] = {}
        if cache is not None:
            for i, k in enumerate(keys):
                if k not in cache["rows"]:
                    new.setdefault(k, i)
        if cache is None or len(cache["rows"]) + len(new) > len(cache["table"]):
            size = max(self.CHAR_CACHE_SIZE, len(keys))
            cache = self._char_cache = {
                "rows": {},
                "version": version,
                "table": torch.empty(size, self.net.charcnn.out_dim, device=self.device),
            }
            new = {}
            for i, k in enumerate(keys):
                new.setdefault(k, i)
        rows, table = cache["rows"], cache["table"]
        todo = list(new.values())
        for start in range(0, len(todo), 4096):
            part = todo[start : start + 4096]
            ch = corpus.form_chars[part]
            width = max(int((ch != 0).sum(1).max()), 1)
            emb = self.net.charcnn.embed_types(torch.from_numpy(np.ascontiguousarray(ch[:, :width])).to(self.device))
            base = len(rows)
            table[base : base + len(part)] = emb
            for j, i in enumerate(part):
                rows[keys[i]] = base + j
        return table[torch.tensor([rows[k] for k in keys], dtype=torch.long, device=self.device)]

    def predict_corpus(
        self, corpus, batch_size: int = 256, gates: bool = False, *, scores: bool = False, features: bool = False
    ) -> list[dict[str, Any]]:
        """Predictions for every sentence of an encoded corpus, in corpus order.

        ``scores`` (token-level tasks): add ``tag_probs``, the model's probability of each
        predicted tag, from which span and sentence confidences are taken. ``features``: add
        ``features``, the item's shared features Fs averaged over its tokens (a numpy vector;
        ``mltl select --strategy diverse`` clusters them).
        """
        import torch

        token_level = self.task.token_level
        results: list[dict[str, Any] | None] = [None] * len(corpus)
        for idx, out in self.run(corpus, batch_size):
            lp = out.log_probs.float()
            best = lp.argmax(-1).cpu().numpy()
            g1 = torch.softmax(out.gate1.float(), -1).cpu().numpy() if gates and out.gate1 is not None else None
            g2 = torch.softmax(out.gate2.float(), -1).cpu().numpy() if gates and out.gate2 is not None else None
            if features:
                m = out.mask.unsqueeze(-1).to(out.fs.dtype)
                pooled = ((out.fs * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy()
            for r, i in enumerate(idx):
                n = int(corpus.lengths[i])
                if token_level:
                    res: dict[str, Any] = {"tags": [self.labels[j] for j in best[r, :n]]}
                    if scores:
                        res["tag_probs"] = lp[r, :n].max(-1).values.exp().tolist()
                else:
                    probs = lp[r].exp().cpu().numpy()
                    res = {
                        "label": self.labels[int(best[r])],
                        "probs": {lab: float(p) for lab, p in zip(self.labels, probs)},
                    }
                if features:
                    res["features"] = pooled[r]
                if gates:
                    # per-expert weights (order = model.sources); per token for Fp and tagging C
                    if g1 is not None:
                        res["gate_fp"] = g1[r, :n].tolist()
                    if g2 is not None:
                        res["gate_c"] = g2[r, :n].tolist() if token_level else g2[r].tolist()
                results[int(i)] = res
        return results  # type: ignore[return-value]

    def predict_batch(
        self,
        lang: str,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 256,
        gates: bool = False,
        *,
        scores: bool = False,
        features: bool = False,
    ) -> list[dict[str, Any]]:
        """Predict for tokenised sentences of ``lang``.

        Tagging: ``[{"tags": [...]}, ...]``; classification: ``[{"label", "probs"}]``.
        ``gates=True`` adds the expert gate weights (``gate_fp``, ``gate_c``), one
        weight per source language in the order of :attr:`sources`.
        """
        self.check_lang(lang)
        keep = [i for i, s in enumerate(sentences) if len(s)]
        self._take_rows(lang, sentences)
        corpus = self.featurizer.encode(lang, [list(sentences[i]) for i in keep])
        # ``scores`` only when asked: a plugin's predict_corpus override may not take it
        extra = {"scores": True} if scores else {}
        if features:
            extra["features"] = True
        res = self.predict_corpus(corpus, batch_size, gates, **extra) if keep else []
        empty = self.task.empty_prediction()
        out: list[dict[str, Any]] = [dict(empty) for _ in sentences]
        for i, r in zip(keep, res):
            out[i] = r
        return out

    # -- saving ------------------------------------------------------------------
    def save(self, path: str | Path, metrics: dict | None = None, force: bool = True) -> Path:
        import torch

        with atomic_dir(path, force=force) as tmp:
            write_model_files(tmp, self, metrics or {})
            torch.save(self.net.state_dict(), tmp / "weights.pt")
        return Path(path)


def _length_batches(order: np.ndarray, lengths: np.ndarray, max_sents: int, max_tokens: int):
    """Split length-sorted sentence indices into batches of at most ``max_sents`` sentences
    and ``max_tokens`` padded tokens (so peak memory does not depend on the longest line)."""
    start = 0
    while start < len(order):
        end = start + 1
        while (
            end < len(order) and end - start < max_sents and (end - start + 1) * int(lengths[order[end]]) <= max_tokens
        ):
            end += 1
        yield order[start:end]
        start = end


def write_model_files(d: Path, model: Model, metrics: dict) -> None:
    """Everything but the weights (the trainer writes those, e.g. for checkpoints)."""
    cfg = model.config
    (d / MARKER).write_text(
        json.dumps(
            {
                "format": FORMAT,
                "mltl_version": __version__,
                "task": cfg.task,
                "sources": cfg.data.sources,
                "target": cfg.data.target,
                "languages": model.languages,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    (d / "config.json").write_text(cfg.to_json() + "\n", encoding="utf-8")
    (d / "labels.json").write_text(
        json.dumps({"labels": model.labels, "scheme": model.scheme}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    (d / "chars.json").write_text(json.dumps(model.featurizer.chars, ensure_ascii=False) + "\n", encoding="utf-8")
    (d / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (d / "vocab").mkdir()
    (d / "vectors").mkdir()
    dtype = np.float16 if cfg.data.float16 else np.float32
    for lang, words in model.featurizer.vocabs.items():
        (d / "vocab" / f"{lang}.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        np.save(d / "vectors" / f"{lang}.npy", np.asarray(model.vectors[lang], dtype=dtype), allow_pickle=False)


def _need(d: Path, name: str) -> Path:
    p = d / name
    if not p.exists():
        raise InputError(f"model directory is incomplete: {name} is missing", path=p)
    return p


def _read_json(d: Path, name: str) -> Any:
    p = _need(d, name)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"corrupt or truncated JSON ({exc})", path=p) from None


def load_torch_file(path: Path, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with one :class:`InputError` for every way a file
    can fail to be a checkpoint (text, random bytes, a truncated zip, a pickle of other objects).

    torch's own message for a pickle it refuses advises ``weights_only=False``, which would
    run whatever code the file names: it is never passed on.
    """
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - anything a foreign file makes the unpickler raise
        raise InputError(
            f"file is corrupt, truncated or not an mltl checkpoint ({_load_failure(exc)})", path=path
        ) from None


def _load_failure(exc: Exception) -> str:
    """A short, safe reason for a failed ``torch.load`` (never torch's advice to load unsafely)."""
    import re

    text = str(exc)
    m = re.search(r"\bGLOBAL ([\w.]+)", text)  # "Unsupported global: GLOBAL x.y" / "unsupported GLOBAL x.y"
    if m:
        return f"it refers to {m.group(1)}, which no mltl checkpoint holds"
    first = text.strip().splitlines()[0] if text.strip() else ""
    if not first or "weights_only" in text or "Weights only" in text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {first[:160]}"


def check_state_dict(state: Any, path: Path) -> dict:
    """The loaded object must be a state dict: names to tensors."""
    import torch

    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(f"not an mltl checkpoint: holds a {type(state).__name__}, not a table of weights", path=path)
    return state


def check_model_languages(langs: Any, path: Path) -> list[str]:
    """``languages`` of ``mltl-model.json``: codes by the rule of ``--lang`` (they become file names)."""
    from mltl.langs import check_lang

    if not isinstance(langs, list) or not langs or not all(isinstance(x, str) for x in langs):
        raise InputError("'languages' must be a non-empty list of language codes", path=path)
    for lang in langs:
        try:
            code = check_lang(lang)
        except InputError as exc:
            raise InputError(f"languages: {exc}", path=path) from None
        if code != lang:
            raise InputError(f"languages: {lang!r} is not a language code as mltl writes them ({code!r})", path=path)
    return langs


MODEL_ENTRY_POINTS = "mltl.models"  # the group a package built by `mltl package` declares


def read_labels(path: str | Path) -> tuple[list[str], str | None]:
    """A model's (labels, scheme) from its ``labels.json`` alone — no network is loaded."""
    d = Path(path)
    if not d.is_dir():
        raise InputError("no such model directory", path=d)
    lab = _read_json(d, "labels.json")
    if not isinstance(lab, dict) or not isinstance(lab.get("labels"), list):
        raise InputError("labels.json has no label list", path=d / "labels.json")
    return [str(x) for x in lab["labels"]], lab.get("scheme")


def resolve_model_dir(model: str | Path) -> Path:
    """A model directory, or the name of an installed model package built by ``mltl package``.

    Packages are found only through their declared entry point (group ``mltl.models``, name =
    the package name, value = a function returning the model directory), as plugins are: a
    name never imports an arbitrary module.
    """
    d = Path(model)
    if d.is_dir():
        return d
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=MODEL_ENTRY_POINTS) if ep.name == str(model)]
    if found:
        return Path(found[0].load()())
    raise InputError("no such model directory (nor an installed mltl model package of that name)", path=d)


def load_model(path: str | Path, device: str = DEFAULT_DEVICE) -> Model:
    """Load a model directory (``model-best/``, ``model-last/``) written by ``mltl train``,
    or an installed model package by its name (``mltl package``).

    ``device``: ``auto`` (a GPU when one is visible, else the CPU), ``cpu``, ``cuda``, ``cuda:N``.

    Missing or truncated files and models of another mltl version raise
    :class:`InputError` naming the file.
    """
    from mltl.config import config_from_json
    from mltl.models.featurize import Featurizer, char_lowercasing

    # A GPU named explicitly is checked first; `auto`/`cpu` (which need torch, 3-4 s to import)
    # only once the directory has passed the cheap checks, so a wrong path fails at once.
    explicit = device not in ("auto", "cpu")
    if explicit:
        device = str(pick_device(device))
    d = resolve_model_dir(path)
    marker = _read_json(d, MARKER)
    if not isinstance(marker, dict):
        raise InputError("not an mltl model marker (expected a JSON object)", path=d / MARKER)
    if marker.get("mltl_version") != __version__ or marker.get("format") != FORMAT:
        raise InputError(
            f"model was written by mltl {marker.get('mltl_version')} (format {marker.get('format')}); "
            f"this is mltl {__version__}: retrain it or use that version",
            path=d / MARKER,
        )
    try:
        cfg = config_from_json(_need(d, "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
        raise InputError(f"corrupt config ({exc})", path=d / "config.json") from None
    if not explicit:
        device = str(pick_device(device))
    from mltl.config import components

    try:
        components(cfg)  # the task/head/encoder plugins this model was trained with
    except InputError as exc:
        raise InputError(str(exc), path=d / "config.json") from None
    languages = check_model_languages(marker.get("languages"), d / MARKER)
    lab = _read_json(d, "labels.json")
    chars = _read_json(d, "chars.json")
    vocabs: dict[str, list[str]] = {}
    vectors: dict[str, np.ndarray] = {}
    for lang in languages:
        vp = _need(d, f"vocab/{lang}.txt")
        words = vp.read_text(encoding="utf-8").split("\n")
        if words and words[-1] == "":
            words.pop()
        xp = _need(d, f"vectors/{lang}.npy")
        try:
            mat = np.load(xp, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"corrupt or truncated vectors ({exc})", path=xp) from None
        if mat.ndim != 2 or mat.shape[0] != len(words):
            raise InputError(f"{mat.shape[0] if mat.ndim else 0} vectors but {len(words)} words in {vp.name}", path=xp)
        vocabs[lang], vectors[lang] = words, mat
    emb_dim = next(iter(vectors.values())).shape[1]
    feat = Featurizer(
        vocabs,
        chars,
        lowercase=cfg.data.lowercase,
        lowercase_chars=char_lowercasing(cfg.model),
        max_word_len=cfg.data.max_word_len,
    )
    net = build_network(cfg, len(lab["labels"]), len(chars), emb_dim, labels=list(lab["labels"]))
    for lang, mat in vectors.items():
        net.embeddings.set_language(lang, mat.astype(np.float32))
    wp = _need(d, "weights.pt")
    state = check_state_dict(load_torch_file(wp, map_location="cpu"), wp)
    try:
        net.load_state_dict(state)
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot load weights (truncated or from another model?): {msg}", path=wp) from None
    net.to(device)
    net.eval()
    from mltl.registry import get_task

    model_cls = get_task(cfg.task).model_class or Model  # a task may post-process predictions
    return model_cls(cfg, net, feat, list(lab["labels"]), lab.get("scheme"), vectors)
