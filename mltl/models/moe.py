"""Mixture of experts with an expert gate G (paper §3.1, Figure 2, Appendix B).

One expert per *source* language, each a two-layer MLP; the gate is a linear map
followed by a softmax over experts. The mixture is a convex combination of the
expert outputs, weighted by the gate weights α. All experts run as one batched
matrix product (no Python loop over experts or tokens).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mltl.models.dropout import Dropout

_ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "none": lambda x: x,
}


def gate_weights(gate_logits: torch.Tensor) -> torch.Tensor:
    """α = softmax(G(h)) over the last (expert) dimension."""
    return torch.softmax(gate_logits, dim=-1)


def mix_experts(expert_outputs: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Convex combination Σ_i α_i · e_i.

    ``expert_outputs``: (E, N, D); ``alpha``: (N, E) → (N, D).
    """
    return torch.einsum("end,ne->nd", expert_outputs, alpha)


def mix_expert_log_probs(expert_log_probs: torch.Tensor, gate_logits: torch.Tensor) -> torch.Tensor:
    """log Σ_i α_i · softmax(e_i), computed in log space for stability.

    This is the MoE predictor C of Figure 6: every expert ends in a softmax over
    labels and the gate mixes the *probabilities*. ``expert_log_probs``: (E, N, L);
    ``gate_logits``: (N, E) → (N, L) log-probabilities.
    """
    log_alpha = torch.log_softmax(gate_logits, dim=-1).t().unsqueeze(-1)  # (E, N, 1)
    return torch.logsumexp(expert_log_probs + log_alpha, dim=0)


def gate_nll(gate_logits: torch.Tensor, expert_index: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Gate loss L_G: token-level NLL of the sample's own language expert (eq. 2).

    ``gate_logits``: (..., E); ``mask`` (same leading shape) selects real tokens.
    Averaged over the selected tokens so λ2 does not scale with sentence length.
    """
    logp = torch.log_softmax(gate_logits, dim=-1)[..., expert_index]
    if mask is not None:
        logp = logp[mask]
    return -logp.mean()


def on_positions(fn, x: torch.Tensor, mask: torch.Tensor | None = None):
    """``fn`` (a per-position map (N, in) → tensors (N, ·)) over ``x`` (..., in).

    With a ``mask`` over x's leading shape, ``fn`` sees only the selected
    positions and the others get 0: a batch of sentences is padded to its
    longest, and in training batches 60 % of the positions were padding.
    Per-position maps give the same values either way.
    """
    lead = x.shape[:-1]
    if mask is None or bool(mask.all()):
        return tuple(o.reshape(*lead, -1) for o in fn(x.reshape(-1, x.shape[-1])))
    outs = fn(x[mask])
    return tuple(o.new_zeros(*lead, o.shape[-1]).index_put((mask,), o) for o in outs)


class MixtureOfExperts(nn.Module):
    """MoE module: E two-layer MLP experts + linear expert gate G.

    expert_i(h) = act(W2_i · dropout(relu(W1_i h + b1_i)) + b2_i), ``act`` = tanh in
    Fp (Appendix B: "to match the LSTM-extracted shared features"), none in C
    (where each expert ends in a softmax, see :func:`mix_expert_log_probs`).

    ``detach_gate`` stops the gate loss from shaping the features it reads (a knob
    of the reference implementation).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        n_experts: int,
        last_activation: str = "tanh",
        dropout: float = 0.5,
        detach_gate: bool = False,
    ) -> None:
        super().__init__()
        if last_activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {last_activation!r}; choose from {sorted(_ACTIVATIONS)}")
        self.n_experts = n_experts
        self.last_activation = last_activation
        self.detach_gate = detach_gate
        self.w1 = nn.Parameter(torch.empty(n_experts, in_dim, hidden))
        self.b1 = nn.Parameter(torch.empty(n_experts, 1, hidden))
        self.w2 = nn.Parameter(torch.empty(n_experts, hidden, out_dim))
        self.b2 = nn.Parameter(torch.empty(n_experts, 1, out_dim))
        self.gate = nn.Linear(in_dim, n_experts)  # G: matrix of size in_dim × N
        self.dropout = Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same init as E separate nn.Linear layers (Kaiming-uniform, fan_in).
        for w, b in ((self.w1, self.b1), (self.w2, self.b2)):
            bound = 1.0 / math.sqrt(w.shape[1])
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)

    def experts(self, x: torch.Tensor) -> torch.Tensor:
        """All expert outputs for flat input ``x`` (N, in) → (E, N, out)."""
        h = torch.relu(torch.baddbmm(self.b1, x.unsqueeze(0).expand(self.n_experts, -1, -1), self.w1))
        h = self.dropout(h)
        out = torch.baddbmm(self.b2, h, self.w2)
        return _ACTIVATIONS[self.last_activation](out)

    def gate_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(x.detach() if self.detach_gate else x)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (..., in) → (mixture (..., out), gate logits (..., E)).

        With ``mask`` (x's leading shape) only the selected positions are computed;
        the others are 0 in both outputs.
        """

        def run(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits = self.gate_logits(flat)
            return mix_experts(self.experts(flat), gate_weights(logits)), logits

        return on_positions(run, x, mask)

    def forward_log_probs(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictor form (Figure 6): mixture of per-expert label distributions.

        Returns (log-probabilities (..., L), gate logits (..., E)); ``mask`` as in
        :meth:`forward`.
        """

        def run(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits = self.gate_logits(flat)
            return mix_expert_log_probs(F.log_softmax(self.experts(flat), dim=-1), logits), logits

        return on_positions(run, x, mask)


class MLP(nn.Module):
    """Two-layer MLP (the single-MLP C of the ``-C MoE`` ablation)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), Dropout(dropout), nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
