"""The assembled MAN-MoE network (paper §3.1, Figure 1) with its ablations.

- Multilingual word representation: frozen aligned embeddings, one table per
  language in one shared space (+ optional shared CharCNN, concatenated).
- Fs: shared BiLSTM; D: language discriminator over Fs (MAN).
- Fp: private BiLSTM + MoE with one expert per source language (gate G1).
- C: predictor over concat(Fs, Fp), MoE (gate G2) or single MLP.

Ablations (Tables 3-4): ``fp_moe=False`` removes Fp entirely (C sees Fs only),
``c_moe=False`` replaces C's MoE by one MLP, ``adversary=False`` removes D (MAN),
``arch="man"`` = both MoEs off, ``arch="bwe"`` = neither MoE nor D: a plain shared
tagger on aligned embeddings. Each flag removes exactly its module, so parameter
counts show what was trained.

A batch holds sentences of *one* language (Algorithm 1 samples a mini-batch per
language), so the embedding table is chosen per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from mltl.models.charcnn import CharCNN
from mltl.models.contracts import Encoder
from mltl.models.discriminator import LanguageDiscriminator
from mltl.models.dropout import Dropout
from mltl.models.moe import MixtureOfExperts
from mltl.registry import get_encoder, get_head

PAD, UNK = 0, 1  # word ids shared by every language's vocabulary


@dataclass
class Batch:
    """A padded, tensorised mini-batch of one language.

    ``chars``/``char_index``: the batch's distinct word forms as char ids (U, L)
    and, for every token, the row of its form (B, T) — the CharCNN runs once per
    form. ``labels``: (B, T) tag ids with -100 on padding, or (B,) class ids.
    """

    lang: str
    words: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor
    chars: Optional[torch.Tensor] = None
    char_index: Optional[torch.Tensor] = None
    labels: Optional[torch.Tensor] = None
    # Set by :func:`cat_batches`: (language, rows) for consecutive row blocks.
    segments: Optional[list[tuple[str, int]]] = None

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())

    def to(self, device: torch.device | str) -> "Batch":
        def mv(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
            return None if t is None else t.to(device, non_blocking=True)

        # lengths stay on the CPU: pack_padded_sequence wants them there.
        return Batch(
            self.lang,
            self.words.to(device, non_blocking=True),
            self.lengths,
            self.mask.to(device, non_blocking=True),
            mv(self.chars),
            mv(self.char_index),
            mv(self.labels),
            self.segments,
        )


def cat_batches(batches: list[Batch]) -> Batch:
    """One batch from several (of different languages) so that the shared modules
    (CharCNN, Fs, Fp, C, D) run once per iteration instead of once per language.

    Everything downstream is per row and masked (packed LSTMs, masked CNN
    pooling and attention), so the result equals separate calls; rows keep their
    order and :attr:`Batch.segments` says which language owns which rows.
    """
    import torch.nn.functional as F

    T = max(b.words.shape[1] for b in batches)

    def pad(t: torch.Tensor, value: int) -> torch.Tensor:
        return F.pad(t, (0, T - t.shape[1]), value=value)

    segs: list[tuple[str, int]] = []
    for b in batches:
        segs.extend(b.segments or [(b.lang, b.words.shape[0])])
    chars = char_index = None
    if batches[0].chars is not None:
        # one model's batches all have chars and char_index, or none has
        char_ids = [b.chars for b in batches if b.chars is not None]
        indices = [b.char_index for b in batches if b.char_index is not None]
        assert len(char_ids) == len(indices) == len(batches)
        width = max(c.shape[1] for c in char_ids)
        chars = torch.cat([F.pad(c, (0, width - c.shape[1])) for c in char_ids])
        offsets = [0]
        for c in char_ids[:-1]:
            offsets.append(offsets[-1] + c.shape[0])
        char_index = torch.cat([pad(i + o, 0) for i, o in zip(indices, offsets)])
        # The batches share many word types (a language's labeled and unlabeled
        # batches; digits, punctuation and names across languages): convolve each
        # distinct spelling once. CharCNN(word) depends on the characters only.
        chars, inverse = torch.unique(chars, dim=0, return_inverse=True)
        char_index = inverse[char_index]
    labels = None
    gold = [b.labels for b in batches if b.labels is not None]
    if len(gold) == len(batches):
        # (B, T) tag ids are padded to T; class ids (B,) and float targets (B, L), e.g. multi-hot, are not
        labels = torch.cat([pad(g, -100) if g.ndim == 2 and not g.is_floating_point() else g for g in gold])
    return Batch(
        "+".join(dict.fromkeys(l for l, _ in segs)),
        torch.cat([pad(b.words, 0) for b in batches]),
        torch.cat([b.lengths for b in batches]),
        torch.cat([pad(b.mask, False) for b in batches]),
        chars,
        char_index,
        labels,
        segs,
    )


@dataclass
class Output:
    log_probs: torch.Tensor  # (B, T, L) tagging / (B, L) classification
    gate1: Optional[torch.Tensor]  # Fp expert gate logits (B, T, E)
    gate2: Optional[torch.Tensor]  # C expert gate logits (B, T, E) or (B, E)
    fs: torch.Tensor  # shared features (B, T, H), for D
    mask: torch.Tensor


class FrozenEmbeddings(nn.Module):
    """Aligned word vectors per language, frozen (Appendix B: "All embeddings are
    fixed during training"). Kept as non-persistent buffers: the model directory
    stores them once, pruned, as ``vectors/<lang>.npy`` rather than in the weights.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.langs: list[str] = []

    def set_language(self, lang: str, matrix: np.ndarray | torch.Tensor) -> None:
        t = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
        if t.ndim != 2 or t.shape[1] != self.dim:
            raise ValueError(f"vectors for {lang} have shape {tuple(t.shape)}, expected (n, {self.dim})")
        self.register_buffer(f"table_{lang}", t, persistent=False)
        if lang not in self.langs:
            self.langs.append(lang)

    def forward(self, lang: str, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(ids, getattr(self, f"table_{lang}"))


class ManMoE(nn.Module):
    def __init__(
        self,
        *,
        task_head: str,
        n_labels: int,
        sources: list[str],
        langs: list[str],
        emb_dim: int,
        n_chars: int,
        char_cnn: bool = True,
        char_emb_size: int = 50,
        char_kernels: int = 200,
        char_widths: tuple[int, ...] = (3, 4, 5),
        char_out: int = 128,
        encoder: str = "bilstm",
        shared_hidden: int = 128,
        private_hidden: int = 128,
        layers: int = 2,
        expert_hidden: int = 128,
        fp_moe: bool = True,
        c_moe: bool = True,
        adversary: bool = True,
        d_kernels: int = 200,
        d_widths: tuple[int, ...] = (3, 4, 5),
        d_hidden: int = 128,
        expert_activation: str = "tanh",
        dropout: float = 0.5,
        word_dropout: float = 0.0,
        detach_gate: bool = False,
        labels: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.sources = list(sources)  # expert order
        self.langs = list(langs)  # D's classes: Δ = sources + target + extra
        self.word_dropout = word_dropout
        self.embeddings = FrozenEmbeddings(emb_dim)
        self.charcnn = (
            CharCNN(n_chars, char_emb_size, char_kernels, char_widths, char_out, dropout) if char_cnn else None
        )
        in_dim = emb_dim + (char_out if char_cnn else 0)
        self.input_dropout = Dropout(dropout)
        enc = get_encoder(encoder)
        self.fs = enc(in_dim, shared_hidden, layers, dropout)  # Fs
        if fp_moe:
            self.fp: Encoder | None = enc(in_dim, private_hidden, layers, dropout)  # Fp's BiLSTM
            self.fp_moe: MixtureOfExperts | None = MixtureOfExperts(
                private_hidden,
                expert_hidden,
                private_hidden,
                len(self.sources),
                last_activation=expert_activation,
                dropout=dropout,
                detach_gate=detach_gate,
            )  # Fp's MoE + G1
        else:
            self.fp = None
            self.fp_moe = None
        feat_dim = shared_hidden + (private_hidden if fp_moe else 0)
        # C (+ G2), looked up by name: a built-in or a plugin's head (e.g. "crf")
        self.head = get_head(task_head)(
            feat_dim,
            n_labels,
            len(self.sources),
            hidden=expert_hidden,
            moe=c_moe,
            dropout=dropout,
            detach_gate=detach_gate,
            labels=list(labels) if labels is not None else None,
        )
        self.discriminator = (
            LanguageDiscriminator(shared_hidden, len(self.langs), d_kernels, d_widths, d_hidden, dropout)
            if adversary
            else None
        )  # D

    # -- pieces -------------------------------------------------------------------
    def represent(self, b: Batch) -> torch.Tensor:
        """Multilingual word representation: [aligned word vector ; CharCNN(word)]."""
        words = b.words
        if self.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & b.mask, UNK)
        if b.segments is None:
            x = self.embeddings(b.lang, words)
        else:  # a concatenated batch: each language's rows use its own table
            x = torch.cat(
                [self.embeddings(lang, w) for (lang, _), w in zip(b.segments, words.split([n for _, n in b.segments]))]
            )
        if self.charcnn is not None:
            x = torch.cat([x, self.charcnn(b.chars, b.char_index)], dim=-1)
        return self.input_dropout(x)

    def shared_features(self, b: Batch, x: torch.Tensor | None = None) -> torch.Tensor:
        """Fs(x): (B, T, shared_hidden)."""
        return self.fs(self.represent(b) if x is None else x, b.lengths)

    def discriminate(self, fs: torch.Tensor, mask: torch.Tensor, rows: list[int] | None = None) -> torch.Tensor:
        """D(Fs(x)): language logits over Δ, one row per sentence, in the input's order.

        D's features of a sentence do not depend on its batch-mates (masked max-pool,
        fixed zero padding), so D may run on any grouping of the rows. It runs on the
        rows sorted by length, in as many groups as ``rows`` has blocks (one block per
        language of a concatenated batch; one group if ``None``), each group cut to its
        own longest sentence. Why: a concatenation is padded to its longest sentence,
        and with random (unsorted) tagging batches most of D's convolutions went to
        padding — D's forward took 62 ms of a 400 ms MAN-MoE step on CoNLL, 36 ms on
        length-sorted batches. Same number of calls as one per block, far less padding.
        """
        assert self.discriminator is not None
        n_groups = len(rows) if rows else 1
        if n_groups < 2:
            return self.discriminator(fs, mask)
        lengths = mask.sum(1)
        order = torch.argsort(lengths, descending=True, stable=True)
        out = []
        for idx in order.tensor_split(n_groups):
            if idx.numel() == 0:
                continue
            t = max(int(lengths[idx[0]]), 1)  # sorted: the group's first row is its longest
            out.append(self.discriminator(fs[idx, :t], mask[idx, :t]))
        return torch.cat(out)[order.argsort()]  # back to the input's row order

    def forward(self, b: Batch) -> Output:
        x = self.represent(b)
        return self.predict_from(x, self.fs(x, b.lengths), b.lengths, b.mask)

    def predict_from(self, x: torch.Tensor, fs: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> Output:
        """Fp and C given the word representation x and the shared features fs = Fs(x)."""
        gate1 = None
        if self.fp is not None:
            assert self.fp_moe is not None  # built together with Fp
            fp, gate1 = self.fp_moe(self.fp(x, lengths), mask)  # fp, g1 = Fp(x)
            feats = torch.cat([fs, fp], dim=-1)
        else:
            feats = fs
        log_probs, gate2 = self.head(feats, mask)  # ŷ, g2 = C(fs, fp)
        return Output(log_probs, gate1, gate2, fs, mask)

    def expert_index(self, lang: str) -> int:
        return self.sources.index(lang)

    def lang_index(self, lang: str) -> int:
        return self.langs.index(lang)

    def main_parameters(self) -> list[nn.Parameter]:
        """Parameters of Fs, Fp, C (and the CharCNN): the main optimizer's."""
        d = set(id(p) for p in self.discriminator.parameters()) if self.discriminator is not None else set()
        return [p for p in self.parameters() if p.requires_grad and id(p) not in d]


def count_parameters(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters() if p.requires_grad)
