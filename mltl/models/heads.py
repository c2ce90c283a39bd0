"""Task-specific predictors C (paper §3.1, Figure 6, Appendix B).

C takes concat(Fs, Fp) per token. With ``moe=True`` it is a mixture of experts
(one per source language) whose experts end in a softmax over labels and whose
gate gives the second gate loss J_G2; with ``moe=False`` (the ``-C MoE``
ablation) it is a single two-layer MLP. Heads are registered by task name so a
plugin can add one (e.g. a CRF tagging head).

The head interface (what the trainer and ``predict`` rely on, for built-ins and
plugins alike, see ``docs/plugins.md``):

* ``__init__(in_dim, n_labels, n_experts, *, hidden, moe, dropout, detach_gate,
  labels)`` — ``labels`` are the label names (e.g. for BIO constraints);
* ``forward(feats, mask) -> (scores, gate_logits | None)``. In eval mode
  ``scores`` are log-probabilities whose argmax is the prediction;
* ``loss(scores, gold, mask) -> scalar`` — J_C, a mean over tokens (or sentences);
  :class:`Head` gives the NLL;
* ``token_level`` — labels and gate losses per token or per sentence.
"""

from __future__ import annotations

import torch
from torch import nn

from mltl.models.dropout import Dropout
from mltl.models.moe import MLP, MixtureOfExperts, on_positions
from mltl.registry import API_VERSION, register_head

MLTL_API_VERSION = API_VERSION


def nll_loss(log_probs: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood over real tokens (gold -100 = padding: no mask needed) or sentences."""
    return nn.functional.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), gold.reshape(-1), ignore_index=-100)


class Head(nn.Module):
    """Base of predictor heads: the default loss is the NLL of ``forward``'s log-probabilities."""

    token_level = True

    def loss(self, scores: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return nll_loss(scores, gold)  # padding is gold -100; a CRF head needs the mask


class MoEOrMLP(nn.Module):
    """C's predictor proper: MoE of per-expert label distributions (gate G2), or one MLP.

    Returns (log-probabilities, gate logits | None). Plugins reuse it, e.g. a CRF on
    top of the mixed emissions."""

    def __init__(
        self, in_dim: int, hidden: int, n_labels: int, n_experts: int, moe: bool, dropout: float, detach_gate: bool
    ) -> None:
        super().__init__()
        self.moe = (
            MixtureOfExperts(
                in_dim, hidden, n_labels, n_experts, last_activation="none", dropout=dropout, detach_gate=detach_gate
            )
            if moe
            else None
        )
        self.mlp = None if moe else MLP(in_dim, hidden, n_labels, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` (..., in) → (log-probabilities, gate logits | None); with ``mask``
        only the selected positions are computed (the others are 0)."""
        if self.moe is not None:
            return self.moe.forward_log_probs(x, mask)
        mlp = self.mlp
        assert mlp is not None  # built whenever moe is not
        return on_positions(lambda f: (torch.log_softmax(mlp(f), dim=-1),), x, mask)[0], None


@register_head("tagging")
class TaggingHead(Head):
    """Token-level C: a label distribution for every token."""

    token_level = True

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
        super().__init__()
        self.dropout = Dropout(dropout)
        self.pred = MoEOrMLP(in_dim, hidden, n_labels, n_experts, moe, dropout, detach_gate)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        # real tokens only: padding gets log-probabilities 0, which no loss or prediction reads
        return self.pred(self.dropout(feats), mask)


@register_head("classification")
class ClassificationHead(Head):
    """Sentence-level C: dot-product attention pooling (Luong et al., 2015) + MoE.

    "a length 256 weight vector that attends to the feature vectors of each token
    and computes a softmax mixture" — the query has the feature size (256 when
    Fs and Fp are both 128).
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
        super().__init__()
        self.query = nn.Parameter(torch.empty(in_dim).uniform_(-0.1, 0.1))
        self.dropout = Dropout(dropout)
        self.pred = MoEOrMLP(in_dim, hidden, n_labels, n_experts, moe, dropout, detach_gate)

    def attention(self, feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention weights over tokens (B, T); padding gets 0."""
        scores = (feats @ self.query).masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=1)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        pooled = torch.einsum("bt,btd->bd", self.attention(feats, mask), feats)
        return self.pred(self.dropout(pooled))
