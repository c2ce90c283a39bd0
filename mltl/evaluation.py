"""Scores and expert-gate analysis as pure functions (no torch, no seqeval at run time).

Entity spans are read leniently, as conlleval and seqeval's default mode do: an
``I-X`` after ``O`` or after another type starts a new entity, which also reads
IOB1 correctly; BIOES/BILOU prefixes are understood.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mltl.data import schemes


def _prf(ok: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = ok / n_pred if n_pred else 0.0
    r = ok / n_gold if n_gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": n_gold}


def tagging_report(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Entity-level micro P/R/F1, the same per entity type, and token accuracy."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    ok: Counter = Counter()
    n_gold: Counter = Counter()
    n_pred: Counter = Counter()
    tokens = correct_tokens = 0
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i + 1}: {len(g)} gold tags but {len(p)} predicted")
        gs, ps = set(schemes.to_spans(g)), set(schemes.to_spans(p))
        n_gold.update(t for t, _, _ in gs)
        n_pred.update(t for t, _, _ in ps)
        ok.update(t for t, _, _ in gs & ps)
        tokens += len(g)
        correct_tokens += sum(a == b for a, b in zip(g, p))
    types = sorted(set(n_gold) | set(n_pred))
    micro = _prf(sum(ok.values()), sum(n_pred.values()), sum(n_gold.values()))
    return {
        "task": "tagging",
        "sentences": len(gold),
        "tokens": tokens,
        **micro,
        "predicted": sum(n_pred.values()),
        "correct": sum(ok.values()),
        "token_accuracy": correct_tokens / tokens if tokens else 0.0,
        "per_type": {t: _prf(ok[t], n_pred[t], n_gold[t]) for t in types},
    }


def classification_report(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1 and the confusion matrix (rows = gold)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predicted")
    labels = sorted(set(gold) | set(pred))
    idx = {lab: i for i, lab in enumerate(labels)}
    conf = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, pred):
        conf[idx[g], idx[p]] += 1
    per = {lab: _prf(int(conf[i, i]), int(conf[:, i].sum()), int(conf[i].sum())) for lab, i in idx.items()}
    gold_labels = [lab for lab in labels if per[lab]["support"] > 0]
    return {
        "task": "classification",
        "documents": len(gold),
        "accuracy": float(np.trace(conf) / len(gold)) if gold else 0.0,
        "macro_f1": float(np.mean([per[lab]["f1"] for lab in gold_labels])) if gold_labels else 0.0,
        "per_class": per,
        "labels": labels,
        "confusion": conf.tolist(),
    }


def gate_report(records: Sequence[dict[str, Any]], experts: Sequence[str]) -> dict[str, Any]:
    """Average expert-gate weight of each source expert (paper, Appendix A).

    ``records`` carry ``gate_fp`` (per token) and ``gate_c`` (per token for tagging,
    per document for classification) plus ``group`` labels to aggregate by: per token
    (entity type, from gold tags when present) for tagging, the class for classification.
    Returns ``{"fp"|"c": {"all": [w…], "by": {group: [w…]}}}`` with weights in expert order.
    """
    out: dict[str, Any] = {"experts": list(experts)}
    for key in ("fp", "c"):
        total = np.zeros(len(experts))
        count = 0
        by: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(experts)))
        by_n: Counter = Counter()
        for r in records:
            g = r.get(f"gate_{key}")
            if g is None:
                continue
            w = np.asarray(g, dtype=np.float64)
            groups = r.get("groups")
            if w.ndim == 1:  # one gate per document
                w = w[None, :]
                groups = [groups] if isinstance(groups, str) else groups
            total += w.sum(0)
            count += len(w)
            if groups is not None:
                for row, grp in zip(w, groups):
                    if grp:
                        by[grp] += row
                        by_n[grp] += 1
        if count:
            out[key] = {
                "all": (total / count).tolist(),
                "by": {grp: (by[grp] / by_n[grp]).tolist() for grp in sorted(by)},
            }
    return out


def token_groups(tags: Sequence[str]) -> list[str | None]:
    """Entity type of each token (``None`` outside entities), for per-type gate averages."""
    out: list[str | None] = [None] * len(tags)
    for t, s, e in schemes.to_spans(tags):
        for i in range(s, e):
            out[i] = t
    return out


PLOT_UNSUPPORTED = {"pgf"}  # matplotlib writes it only with a LaTeX installation


def plot_format(path: str | Path) -> str:
    """The image format of ``--plot PATH`` (from its extension; none = png), checked before
    any work is done: matplotlib installed, a format it writes, not a directory."""
    from mltl.errors import InputError

    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'mltl[plot]'") from None
    formats = sorted(set(FigureCanvasBase.get_supported_filetypes()) - PLOT_UNSUPPORTED)
    ext = Path(path).suffix.lower().lstrip(".") or "png"
    if ext not in formats:
        raise InputError(
            f"--plot: unknown image format .{ext}; name the file with one of: {', '.join('.' + f for f in formats)}",
            path=path,
        )
    if Path(path).is_dir():
        raise InputError("--plot names a directory; give an image file name like gates.png", path=path)
    return ext


def plot_gates(report: dict[str, Any], path: str, title: str = "") -> None:
    """Bar chart of average gate weights per expert, one panel per mixture (Fp, C)."""
    fmt = plot_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mltl.files import atomic_file

    keys = [k for k in ("fp", "c") if k in report]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(5 * max(1, len(keys)), 3.5), squeeze=False)
    experts = report["experts"]
    for ax, key in zip(axes[0], keys):
        groups = {"all": report[key]["all"], **report[key]["by"]}
        width = 0.8 / len(groups)
        for j, (grp, w) in enumerate(groups.items()):
            ax.bar(np.arange(len(experts)) + j * width, w, width, label=grp)
        ax.set_xticks(np.arange(len(experts)) + 0.4 - width / 2, experts)
        ax.set_ylim(0, 1)
        ax.set_title(f"{'Fp' if key == 'fp' else 'C'} expert gate")
        ax.set_ylabel("average weight")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=120)
    plt.close(fig)


def evaluate_files(gold_path: str, pred_path: str, encoding: str = "utf-8") -> dict[str, Any]:
    """Score a predicted CoNLL file against a gold one (last column of each; no model needed).

    The two files must hold the same sentences: the same tokens in the same order."""
    from mltl.data.conll import read_conll
    from mltl.errors import InputError

    gold = list(read_conll(gold_path, "conll", encoding=encoding))
    pred = list(read_conll(pred_path, "conll", encoding=encoding))
    if not gold:
        raise InputError("no sentences found", path=gold_path)
    if len(gold) != len(pred):
        raise InputError(f"{len(pred)} sentences, but the gold file has {len(gold)}", path=pred_path)
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g.tokens) != len(p.tokens):
            raise InputError(
                f"sentence {i + 1} has {len(p.tokens)} tokens, the gold one ({gold_path}:{g.lines[0]}) {len(g.tokens)}",
                path=pred_path,
                line=p.lines[0],
            )
        for j, (gt, pt) in enumerate(zip(g.tokens, p.tokens)):
            if gt != pt:
                raise InputError(
                    f"sentence {i + 1}, token {j + 1} is {pt!r} but {gold_path}:{g.lines[j]} has "
                    f"{gt!r}: the files do not hold the same sentences",
                    path=pred_path,
                    line=p.lines[j],
                )
    return tagging_report([g.tags for g in gold], [p.tags for p in pred])


def _some(labels: Sequence[str], n: int = 12) -> str:
    return ", ".join(labels[:n]) + (f" … ({len(labels)} in all)" if len(labels) > n else "")


def evaluate_model(
    model,
    files: Sequence[str],
    lang: str,
    *,
    input_format: str | None = None,
    tokenizer=None,
    batch_size: int = 256,
    encoding: str = "utf-8",
    tag_field: str = "misc:NER",
) -> dict[str, Any]:
    """Predict every gold-labelled input with ``model`` and score it; adds the gate analysis."""
    from mltl.errors import InputError
    from mltl.files import check_input_file
    from mltl.predict import chunks, detect_format, read_items

    task = model.task
    token_level = task.token_level
    gold_all: list = []
    pred_all: list = []
    gate_records: list[dict[str, Any]] = []
    known = set(model.labels)
    for path in files:
        check_input_file(path)
        fmt = detect_format(path, input_format, encoding)
        if fmt == "text":
            raise InputError(
                "raw text has no gold tags or labels to evaluate against; give CoNLL, CoNLL-U or "
                "JSONL (--input-format conll, conllu or jsonl when the extension does not say)",
                path=path,
            )
        for chunk in chunks(read_items(path, fmt, tokenizer, encoding, tag_field=tag_field)):
            missing = [it for it in chunk if it.gold is None]
            if missing:
                raise InputError("input has no gold tags or labels to evaluate against", path=path)
            golds = [it.gold if isinstance(it.gold, list) else str(it.gold) for it in chunk]
            unknown = sorted({t for g in golds for t in (g if isinstance(g, list) else [g])} - known)
            if unknown:
                raise InputError(
                    f"gold labels not in the model's label set: {_some(unknown)}; the model's "
                    f"labels: {_some(list(model.labels))} (rename or drop gold labels with "
                    "`mltl prepare --label-map FROM=TO`)",
                    path=path,
                )
            preds = model.predict_batch(lang, [it.tokens for it in chunk], batch_size=batch_size, gates=True)
            for g, p in zip(golds, preds):
                gold_all.append(g)
                pred_all.append(p[task.pred_key])
                groups: Any = token_groups(g) if token_level else g
                gate_records.append({"gate_fp": p.get("gate_fp"), "gate_c": p.get("gate_c"), "groups": groups})
    if not gold_all:
        raise InputError("no sentences to evaluate", path=files[0] if files else None)
    report = tagging_report(gold_all, pred_all) if token_level else classification_report(gold_all, pred_all)
    if not token_level:
        # per-token Fp gates of a document are averaged into one row, grouped by its class
        for r in gate_records:
            if r["gate_fp"] is not None:
                r["gate_fp"] = np.asarray(r["gate_fp"]).mean(0).tolist()
    report["language"] = lang
    report["gates"] = gate_report(gate_records, model.sources)
    return report
