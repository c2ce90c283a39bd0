"""Dev-set scores for model selection: thin names over :mod:`mltl.evaluation`.

One span reader serves training, ``mltl evaluate`` and ``mltl predict``
(:func:`mltl.data.schemes.to_spans`, conlleval/seqeval's lenient rules), so the
score that picks ``model-best`` is the score users see.
"""

from __future__ import annotations

from typing import Sequence

from mltl.data.schemes import to_spans
from mltl.evaluation import classification_report, tagging_report


def get_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of one sentence as ``(type, first, last)`` (inclusive token indices)."""
    return [(t, s, e - 1) for t, s, e in to_spans(tags)]


def span_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro precision / recall / F1 over entities, with the counts behind them."""
    r = tagging_report(gold, pred)
    return {
        "precision": r["precision"],
        "recall": r["recall"],
        "f1": r["f1"],
        "gold": r["support"],
        "predicted": r["predicted"],
        "correct": r["correct"],
    }


def span_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Entity-level micro F1 (seqeval's ``f1_score`` in its default mode)."""
    return tagging_report(gold, pred)["f1"]


def token_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    return tagging_report(gold, pred)["token_accuracy"]


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return classification_report(gold, pred)["accuracy"] if gold else 0.0
