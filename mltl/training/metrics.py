"""Evaluation metrics as pure functions (no torch, no seqeval at run time).

:func:`get_spans` follows the chunking rules of conlleval / seqeval's default
(lenient) mode, so :func:`span_f1` gives the numbers papers report: an ``I-X``
after ``O`` or after another type starts a new entity, as in IOB1.
"""
from __future__ import annotations

from typing import Sequence


def _split(tag: str) -> tuple[str, str]:
    if tag in ("O", "", "."):
        return "O", "_"
    prefix, _, typ = tag.partition("-")
    if not typ:  # a bare type ("PER") has no BIO prefix: treat as inside
        return prefix[:1], tag[1:] or "_"
    return prefix[:1], typ


def _ends(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag != "O" and prev_type != typ


def _starts(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and prev_type != typ


def get_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of one sentence as ``(type, first, last)`` (inclusive token indices)."""
    spans = []
    prev_tag, prev_type, begin = "O", "_", 0
    for i, t in enumerate([*tags, "O"]):
        tag, typ = _split(t)
        if _ends(prev_tag, tag, prev_type, typ):
            spans.append((prev_type, begin, i - 1))
        if _starts(prev_tag, tag, prev_type, typ):
            begin = i
        prev_tag, prev_type = tag, typ
    return spans


def span_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro precision / recall / F1 over entities of many sentences."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    n_gold = n_pred = n_ok = 0
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
        gs, ps = set(get_spans(g)), set(get_spans(p))
        n_gold += len(gs)
        n_pred += len(ps)
        n_ok += len(gs & ps)
    precision = n_ok / n_pred if n_pred else 0.0
    recall = n_ok / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "gold": n_gold, "predicted": n_pred,
            "correct": n_ok}


def span_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Entity-level micro F1 (seqeval's ``f1_score`` in its default mode)."""
    return span_prf(gold, pred)["f1"]


def token_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    n = ok = 0
    for g, p in zip(gold, pred):
        n += len(g)
        ok += sum(a == b for a, b in zip(g, p))
    return ok / n if n else 0.0


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predicted")
    return sum(a == b for a, b in zip(gold, pred)) / len(gold) if gold else 0.0
