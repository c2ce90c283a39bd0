"""Built-in tasks: how a dataset line carries labels, which head C, which metric.

A task is looked up by name through :mod:`mltl.registry`, so a plugin can add
one (a reader field, a head registered under the same name, a metric). A plugin
task subclasses :class:`Task` and overrides the label hooks (``read_label``,
``label_set``, ``encode_labels``) for labels that are neither one tag per token
nor one class per sentence (see ``plugins/mltl-multilabel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from mltl.registry import API_VERSION, register_task
from mltl.training import metrics

MLTL_API_VERSION = API_VERSION


@dataclass(frozen=True)
class Task:
    """Everything that differs between tasks; code asks the Task, never its name.

    Hooks a plugin task may override: the label hooks below, ``read_split``,
    ``check_record``, ``tune`` (e.g. thresholds chosen on dev), ``defaults`` (its
    Appendix-B-like training settings) and ``model_class`` (a :class:`Model`
    subclass that post-processes predictions).
    """

    name: str
    head: str  # registry name of the predictor C
    label_key: str  # field of a dataset line holding the gold labels
    token_level: bool  # one label per token (tagging) or per sentence
    metric_name: str
    score: Callable[[Sequence[Any], Sequence[Any], str | None], float]
    # class-level hooks (not constructor fields): overridden by subclasses
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    model_class: ClassVar[type | None] = None  # None = mltl.models.model.Model

    def empty_prediction(self) -> dict[str, Any]:
        """The prediction of an empty input line."""
        if self.token_level:
            return {self.pred_key: []}
        empty: dict[str, Any] = {"label": None, "probs": {}}
        if self.pred_key != "label":  # e.g. multi-label "labels"
            empty[self.pred_key] = []
        return empty

    def tune(self, model: Any, gold: Sequence[Any], preds: list[dict[str, Any]]) -> None:
        """Adjust ``model`` (and ``preds``) on the dev sets used for selection; nothing by default."""
        return None

    @property
    def pred_key(self) -> str:
        """Key of a prediction dict (``Model.predict_batch``) compared with the gold labels."""
        return "tags" if self.token_level else "label"

    def read_label(self, value: Any) -> Any:
        """A dataset line's label field as the trainer keeps it."""
        return list(value) if self.token_level else str(value)

    def label_set(self, y: Any) -> set[str]:
        """The atomic labels in one gold label (a tag list, a class)."""
        return set(y) if self.token_level else {y}

    def encode_labels(self, ys: Sequence[Any], label_id: dict[str, int]) -> np.ndarray:
        """Gold labels as the array :meth:`EncodedCorpus.batch` slices (flat tags, or one row per sentence)."""
        if self.token_level:
            return np.fromiter((label_id[t] for y in ys for t in y), dtype=np.int64, count=sum(len(y) for y in ys))
        return np.array([label_id[y] for y in ys], dtype=np.int64)

    def read_split(self, path, labeled: bool, limit: int | None = None):
        """(sentences, labels) of one dataset file; None = the generic JSONL reader."""
        return None

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
    Task("classification", "classification", "label", False, "accuracy", _cls_score)
)
