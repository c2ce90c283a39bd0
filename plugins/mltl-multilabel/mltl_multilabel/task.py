"""Multi-label task: reader (JSONL / TSV), multi-hot labels, sigmoid MoE head + BCE,
per-label thresholds tuned on dev, micro/macro F1."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mltl.errors import InputError
from mltl.files import iter_lines
from mltl.models.heads import ClassificationHead
from mltl.models.model import Model
from mltl.training.tasks import Task

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Words and punctuation (the same rule for every language; pre-tokenize with "tokens" otherwise)."""
    return _TOKEN.findall(text)


def read_file(
    path: str | Path, labeled: bool = True, limit: int | None = None
) -> tuple[list[list[str]], list[list[str]]]:
    """(token lists, label lists) of a JSONL ``{"text"|"tokens", "labels"}`` or TSV ``l1,l2<TAB>text`` file."""
    tsv = Path(str(path).removesuffix(".gz")).suffix.lower() in (".tsv", ".txt")
    docs: list[list[str]] = []
    labels: list[list[str]] = []
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        if tsv:
            if "\t" in line:
                labs, text = line.split("\t", 1)
            elif labeled:
                raise InputError("expected 'label1,label2<TAB>text'", path=path, line=lineno)
            else:
                labs, text = "", line
            toks, labs_ = tokenize(text), [l.strip() for l in labs.split(",") if l.strip()]
        else:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not JSON ({exc.msg})", path=path, line=lineno) from None
            if not isinstance(obj, dict):
                raise InputError("expected a JSON object", path=path, line=lineno)
            toks = obj.get("tokens")
            if toks is None:
                if not isinstance(obj.get("text"), str):
                    raise InputError('each line needs "text" (a string) or "tokens"', path=path, line=lineno)
                toks = tokenize(obj["text"])
            elif not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
                raise InputError('"tokens" must be a list of strings', path=path, line=lineno)
            labs_ = obj.get("labels", [])
            if labeled and (not isinstance(labs_, list) or not all(isinstance(l, str) for l in labs_)):
                raise InputError('"labels" must be a list of strings', path=path, line=lineno)
        if not toks:
            continue
        docs.append(toks)
        labels.append(sorted(set(labs_)))
        if limit is not None and len(docs) >= limit:
            break
    return docs, labels


def f1_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro and macro F1 over label sets (macro: mean over the labels seen in gold or pred)."""
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    fn: dict[str, int] = {}
    for g, p in zip(gold, pred):
        g, p = set(g), set(p)
        for l in g & p:
            tp[l] = tp.get(l, 0) + 1
        for l in p - g:
            fp[l] = fp.get(l, 0) + 1
        for l in g - p:
            fn[l] = fn.get(l, 0) + 1
    labels = set(tp) | set(fp) | set(fn)

    def f1(t: int, f_p: int, f_n: int) -> float:
        return 2 * t / (2 * t + f_p + f_n) if t else 0.0

    micro = f1(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = float(np.mean([f1(tp.get(l, 0), fp.get(l, 0), fn.get(l, 0)) for l in labels])) if labels else 0.0
    return {"micro_f1": micro, "macro_f1": macro}


def _score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str | None) -> float:
    return f1_scores(gold, pred)["micro_f1"]


def best_threshold(probs: np.ndarray, gold: np.ndarray) -> float:
    """The threshold on one label's probabilities with the best F1 on dev (0.5 if it never occurs)."""
    if not gold.any():
        return 0.5
    order = np.argsort(-probs, kind="stable")
    p, g = probs[order], gold[order].astype(np.float64)
    tp = np.cumsum(g)
    f1 = 2 * tp / (np.arange(1, len(p) + 1) + g.sum())
    # only cut between different probabilities; ties with 0.5 win
    ok = np.append(p[1:] < p[:-1], True)
    k = int(np.argmax(np.where(ok, f1, -1.0)))
    below = p[k + 1] if k + 1 < len(p) else 0.0
    return float((p[k] + below) / 2) if p[k] > below else float(p[k])


class MultiLabelModel(Model):
    """Adds ``labels`` (every label whose probability reaches its tuned threshold) to each prediction."""

    def predict_corpus(self, corpus, batch_size: int = 256, gates: bool = False) -> list[dict[str, Any]]:
        res = super().predict_corpus(corpus, batch_size, gates)
        thr = self.net.head.thresholds.tolist()
        for r in res:
            r["labels"] = [l for l, t in zip(self.labels, thr) if r["probs"][l] >= t]
        return res


@dataclass(frozen=True)
class MultiLabelTask(Task):
    name: str = "multilabel"
    head: str = "multilabel"
    label_key: str = "labels"
    token_level: bool = False
    metric_name: str = "micro_f1"
    score: Any = _score

    # like classification (Appendix B): λ1, λ2, k; no CharCNN
    defaults = {"training": {"lambda1": 0.002, "lambda2": 0.1, "k": 1, "batch_size": 16}, "model": {"char_cnn": False}}
    model_class = MultiLabelModel

    @property
    def pred_key(self) -> str:
        return "labels"

    def read_split(self, path, labeled: bool, limit: int | None = None):
        return read_file(path, labeled, limit)

    def read_label(self, value: Any) -> list[str]:
        return sorted(set(value))

    def label_set(self, y: Any) -> set[str]:
        return set(y)

    def encode_labels(self, ys: Sequence[Sequence[str]], label_id: dict[str, int]) -> np.ndarray:
        out = np.zeros((len(ys), len(label_id)), dtype=np.float32)  # multi-hot targets
        for i, y in enumerate(ys):
            out[i, [label_id[l] for l in y]] = 1.0
        return out

    def tune(self, model, gold: Sequence[Sequence[str]], preds: list[dict[str, Any]]) -> None:
        """Per-label thresholds with the best dev F1, stored in the head (saved with the weights)."""
        thr = [
            best_threshold(np.array([p["probs"][l] for p in preds]), np.array([l in g for g in gold]))
            for l in model.labels
        ]
        model.net.head.thresholds.copy_(torch.tensor(thr))
        for p in preds:
            p["labels"] = [l for l, t in zip(model.labels, thr) if p["probs"][l] >= t]


class MultiLabelHead(ClassificationHead):
    """C for multi-label: attention pooling, then one sigmoid per label.

    With the MoE, every expert gives independent label probabilities σ(e_i) and the
    gate mixes them, p = Σ_i α_i σ(e_i) (Figure 6 with sigmoids for softmaxes);
    J_C is the binary cross-entropy summed over labels, averaged over documents.
    Eval mode returns log p per label, so ``probs`` in the output are the sigmoids.
    """

    token_level = False

    def __init__(
        self,
        in_dim: int,
        n_labels: int,
        n_experts: int,
        hidden: int = 128,
        moe: bool = True,
        dropout: float = 0.5,
        detach_gate: bool = False,
        **_: object,
    ) -> None:
        super().__init__(in_dim, n_labels, n_experts, hidden=hidden, moe=moe, dropout=dropout, detach_gate=detach_gate)
        self.register_buffer("thresholds", torch.full((n_labels,), 0.5))  # tuned on dev by the task

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        pooled = self.dropout(torch.einsum("bt,btd->bd", self.attention(feats, mask), feats))
        moe = self.pred.moe
        if moe is not None:
            gate = moe.gate_logits(pooled)  # (B, E)
            e = moe.experts(pooled)  # (E, B, L)
            log_alpha = torch.log_softmax(gate, dim=-1).t().unsqueeze(-1)  # (E, B, 1)
            logp = torch.logsumexp(F.logsigmoid(e) + log_alpha, dim=0)
            log1mp = torch.logsumexp(F.logsigmoid(-e) + log_alpha, dim=0)
        else:
            gate = None
            x = self.pred.mlp(pooled)
            logp, log1mp = F.logsigmoid(x), F.logsigmoid(-x)
        if self.training:
            return torch.stack([logp, log1mp], dim=-1), gate
        return logp, gate

    def loss(self, scores: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logp, log1mp = scores.unbind(-1)
        gold = gold.to(logp.dtype)
        return -(gold * logp + (1 - gold) * log1mp).sum(-1).mean()
