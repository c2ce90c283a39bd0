"""Linear-chain CRF: forward algorithm (log-partition), Viterbi, max-marginals, BIO constraints.

score(y | x) = start[y_1] + Σ_t em[t, y_t] + Σ_t trans[y_{t-1}, y_t] + end[y_n]
p(y | x)     = exp(score(y)) / Z,  log Z by the forward algorithm.

Forbidden transitions (BIO: ``I-X`` only after ``B-X`` or ``I-X``, never first;
BIOES likewise for ``E-X``, and a sentence never ends inside an entity) get a
fixed score of -10000, so Viterbi never picks them. Sentences are row prefixes
of ``mask`` (padding at the end), as mltl's packed encoders produce.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mltl.models.dropout import Dropout
from mltl.models.heads import Head, MoEOrMLP

NEG = -1e4


def _split(label: str) -> tuple[str, str | None]:
    if len(label) > 2 and label[1] == "-" and label[0] in "BIES":
        return label[0], label[2:]
    return "O", None


def allowed_transitions(labels: Sequence[str] | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(trans (L, L), start (L,), end (L,)) boolean masks of allowed moves; None = no constraints.

    Applies to BIO tag sets (and BIOES when ``E-``/``S-`` tags occur); a plain tag set
    (POS, anything without ``B-``/``I-`` prefixes) is unconstrained.
    """
    if not labels:
        return None
    parts = [_split(l) for l in labels]
    if not any(p == "I" for p, _ in parts):
        return None
    bioes = any(p in "ES" for p, _ in parts if p != "O")
    L = len(labels)
    trans = torch.ones(L, L, dtype=torch.bool)
    start = torch.ones(L, dtype=torch.bool)
    end = torch.ones(L, dtype=torch.bool)
    inside = ("I", "E") if bioes else ("I",)
    for j, (pj, tj) in enumerate(parts):
        if pj in inside:
            start[j] = False
        if bioes and pj in ("B", "I"):
            end[j] = False
        for i, (pi, ti) in enumerate(parts):
            if pj in inside:
                trans[i, j] = pi in ("B", "I") and ti == tj
            elif bioes:  # B-, S-, O: only after outside or an entity's end
                trans[i, j] = pi in ("O", "E", "S")
    return trans, start, end


class LinearChainCRF(nn.Module):
    def __init__(self, n_labels: int, allowed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.n_labels = n_labels
        self.trans = nn.Parameter(torch.zeros(n_labels, n_labels))  # trans[i, j]: i -> j
        self.start = nn.Parameter(torch.zeros(n_labels))
        self.end = nn.Parameter(torch.zeros(n_labels))
        if allowed is None:
            allowed = (
                torch.ones(n_labels, n_labels, dtype=torch.bool),
                torch.ones(n_labels, dtype=torch.bool),
                torch.ones(n_labels, dtype=torch.bool),
            )
        for name, ok in zip(("trans_pen", "start_pen", "end_pen"), allowed):
            # derived from the label names (saved with the model): not part of the weights
            self.register_buffer(name, torch.where(ok, 0.0, NEG), persistent=False)

    # effective (constrained) scores
    def _scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.trans + self.trans_pen, self.start + self.start_pen, self.end + self.end_pen

    def score(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """score(y) per sentence (B,); ``tags`` may hold anything (e.g. -100) on padding."""
        trans, start, end = self._scores()
        m = mask.to(em.dtype)
        y = tags.masked_fill(~mask, 0)
        s = (em.gather(2, y.unsqueeze(2)).squeeze(2) * m).sum(1) + start[y[:, 0]]
        if y.shape[1] > 1:
            s = s + (trans[y[:, :-1], y[:, 1:]] * m[:, 1:]).sum(1)
        last = mask.long().sum(1) - 1
        return s + end[y.gather(1, last.unsqueeze(1)).squeeze(1)]

    def log_partition(self, em: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per sentence (B,) by the forward algorithm."""
        trans, start, end = self._scores()
        alpha = start + em[:, 0]
        for t in range(1, em.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + em[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def nll(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """−log p(y | x) per sentence (B,)."""
        return self.log_partition(em, mask) - self.score(em, tags, mask)

    def viterbi(self, em: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Best path (B, T) (0 on padding) and its score (B,)."""
        trans, start, end = self._scores()
        B, T, _ = em.shape
        delta = start + em[:, 0]
        back = []
        for t in range(1, T):
            best, arg = (delta.unsqueeze(2) + trans).max(dim=1)
            back.append(arg)
            delta = torch.where(mask[:, t].unsqueeze(1), best + em[:, t], delta)
        score, cur = (delta + end).max(dim=1)
        lengths = mask.long().sum(1)
        path = torch.zeros(B, T, dtype=torch.long, device=em.device)
        for t in range(T - 1, 0, -1):
            inside = t < lengths
            path[:, t] = torch.where(inside, cur, 0)
            cur = torch.where(inside, back[t - 1].gather(1, cur.unsqueeze(1)).squeeze(1), cur)
        path[:, 0] = cur
        return path, score

    def max_marginals(self, em: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """μ[b, t, y] = the best score of a path with y at t (B, T, L); the Viterbi path attains the max."""
        trans, start, end = self._scores()
        T = em.shape[1]
        fwd = [start + em[:, 0]]
        for t in range(1, T):
            nxt = (fwd[-1].unsqueeze(2) + trans).max(dim=1).values + em[:, t]
            fwd.append(torch.where(mask[:, t].unsqueeze(1), nxt, fwd[-1]))
        bwd = [end.expand_as(fwd[0])]
        for t in range(T - 2, -1, -1):
            nxt = (trans + (em[:, t + 1] + bwd[-1]).unsqueeze(1)).max(dim=2).values
            bwd.append(torch.where(mask[:, t + 1].unsqueeze(1), nxt, end.expand_as(nxt)))
        bwd.reverse()
        return torch.stack(fwd, 1) + torch.stack(bwd, 1)

    def decode_log_probs(self, em: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-token log-softmax of the max-marginals, whose argmax is the Viterbi path
        (ties broken towards it), so an argmax reader decodes the CRF exactly."""
        out = torch.log_softmax(self.max_marginals(em, mask), dim=-1)
        path, _ = self.viterbi(em, mask)
        am = out.argmax(-1)
        diff = (am != path).unsqueeze(-1)
        if bool(diff.any()):
            p, a = path.unsqueeze(-1), am.unsqueeze(-1)
            vp, va = out.gather(-1, p), out.gather(-1, a)
            out = out.scatter(-1, p, torch.where(diff, va, vp)).scatter(-1, a, torch.where(diff, vp, va))
        return out


class CRFHead(Head):
    """C with a CRF on top: emissions = C's (MoE-mixed) label log-probabilities.

    Training: ``forward`` returns the emissions and :meth:`loss` is the CRF's
    −log p(y | x), summed over sentences and divided by the batch's tokens (so the
    λs keep their scale). Eval: ``forward`` returns max-marginal log-probabilities
    whose per-token argmax is the Viterbi path, so ``mltl predict`` needs no change.
    """

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
        labels: Sequence[str] | None = None,
        constraints: bool = True,
        **_: object,
    ) -> None:
        super().__init__()
        self.dropout = Dropout(dropout)
        self.pred = MoEOrMLP(in_dim, hidden, n_labels, n_experts, moe, dropout, detach_gate)
        self.crf = LinearChainCRF(n_labels, allowed_transitions(labels) if constraints else None)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        em, gate = self.pred(self.dropout(feats))
        if self.training:
            return em, gate
        return self.crf.decode_log_probs(em.float(), mask), gate

    def loss(self, scores: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.crf.nll(scores, gold, mask).sum() / mask.sum().clamp(min=1)
