"""The contracts a registered head (C) or encoder (Fs/Fp base) fulfils, as typing Protocols.

``ManMoE`` builds every encoder as ``enc(in_dim, hidden, layers, dropout)`` and every head as
``head(in_dim, n_labels, n_experts, hidden=…, moe=…, dropout=…, detach_gate=…, labels=…)``;
docs/plugins.md describes the same contract for plugin authors, and
``tests/test_models.py::test_every_registered_component_builds_and_trains_a_step`` builds and
trains every registered component through it. No torch import here (the registry uses these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from torch import Tensor


@runtime_checkable
class Encoder(Protocol):
    """Fs / Fp's base: word representations ``x`` (B, T, in_dim) and ``lengths`` (B,) ->
    features (B, T, hidden); positions past a sentence's length are ignored downstream."""

    def __call__(self, x: Tensor, lengths: Tensor) -> Tensor: ...


class EncoderFactory(Protocol):
    """What ``register_encoder(name)`` registers: usually the ``nn.Module`` subclass itself."""

    def __call__(self, in_dim: int, hidden: int, layers: int, dropout: float) -> Encoder: ...


@runtime_checkable
class HeadModule(Protocol):
    """The predictor C: features (B, T, d) and mask (B, T) -> (scores, gate logits or None).

    Scores are (B, T, n_labels) for a token-level head, (B, n_labels) otherwise; ``loss``
    turns them and the gold labels into the training loss L_C; gate logits (B[, T], E) turn on
    the gate loss J_G2."""

    token_level: bool

    def __call__(self, feats: Tensor, mask: Tensor) -> tuple[Tensor, Tensor | None]: ...

    def loss(self, scores: Tensor, gold: Tensor, mask: Tensor) -> Tensor: ...


class HeadFactory(Protocol):
    """What ``register_head(name)`` registers: usually a :class:`mltl.models.heads.Head` subclass."""

    def __call__(
        self,
        in_dim: int,
        n_labels: int,
        n_experts: int,
        *,
        hidden: int,
        moe: bool,
        dropout: float,
        detach_gate: bool,
        labels: list[str] | None,
    ) -> HeadModule: ...


__all__ = ["Encoder", "EncoderFactory", "HeadModule", "HeadFactory"]
