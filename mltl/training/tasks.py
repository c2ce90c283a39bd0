"""Built-in tasks: how a dataset line carries labels, which head C, which metric.

A task is looked up by name through :mod:`mltl.registry`, so a plugin can add
one (a reader field, a head registered under the same name, a metric).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from mltl.registry import register_task
from mltl.training import metrics


@dataclass(frozen=True)
class Task:
    name: str
    head: str               # registry name of the predictor C
    label_key: str          # field of a dataset line holding the gold labels
    token_level: bool       # one label per token (tagging) or per sentence
    metric_name: str
    score: Callable[[Sequence[Any], Sequence[Any], str | None], float]

    def check_record(self, rec: dict, labeled: bool) -> str | None:
        """Why a dataset line is unusable, or None."""
        toks = rec.get("tokens")
        if not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
            return "missing or invalid 'tokens' (a list of strings)"
        if not labeled:
            return None
        lab = rec.get(self.label_key)
        if self.token_level:
            if not isinstance(lab, list) or len(lab) != len(toks):
                return f"'{self.label_key}' must be a list with one tag per token"
        elif not isinstance(lab, (str, int)):
            return f"missing '{self.label_key}'"
        return None


def _tagging_score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str | None) -> float:
    # Span F1 for entity tag sets; token accuracy for plain tags (e.g. POS).
    if scheme == "plain":
        return metrics.token_accuracy(gold, pred)
    return metrics.span_f1(gold, pred)


def _cls_score(gold: Sequence[str], pred: Sequence[str], scheme: str | None) -> float:
    return metrics.accuracy(gold, pred)


TAGGING = register_task("tagging")(Task("tagging", "tagging", "tags", True, "f1", _tagging_score))
CLASSIFICATION = register_task("classification")(
    Task("classification", "classification", "label", False, "accuracy", _cls_score))
