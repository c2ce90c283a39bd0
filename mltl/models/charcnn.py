"""CharCNN character-level word embedding (paper §3.1, Appendix B).

"randomly initialized character embeddings of each character in a word ... a CNN
with kernel number 200 and kernel sizes 3, 4, and 5 ... max-pooled and fed into a
single fully-connected layer to form a 128 dimensional character-level word
embedding", shared by all languages.

Its output depends only on the word, so callers pass the *distinct* words of a
batch (U, L) plus an index (B, T) into them: each word type is computed once.

How it is computed (issue 25). A convolution over character *embeddings* is
linear in a table lookup: window
(c_1 … c_w) gives b + Σ_j W_j·E[c_j], and W_j·E[c] can be computed for every
character once per step — a (V × C)·(C × w·K) product, V ≈ 300 characters.
Every window of every word is then a sum of w rows of that table
(``embedding_bag``), only real windows are computed (no padding), and the max
over each word's windows is a segment max whose gradient goes to the maximal
window(s) only. Same values as ``nn.Conv1d`` + masked max-pool (tested); on a
gold-CoNLL MAN-MoE step its forward went from 242 to 29 ms (docs/benchmarks.md).

One consequence for training: dropout on character embeddings now masks the
embedding *table* once per step (every occurrence of a character in the step
shares its mask) instead of every occurrence separately; at prediction time
nothing changes. ``embed_types_conv`` keeps the convolution form as the reference.
"""

from __future__ import annotations

from typing import Iterable, cast

import torch
import torch.nn.functional as F
from torch import nn

from mltl.models.conv import conv1d
from mltl.models.dropout import Dropout, dropout


class WindowMax(torch.autograd.Function):
    """max over each word's windows of (sum of w lookup rows): (U, K).

    ``rows`` (N, w): the lookup rows of each window; ``word`` (N,): its word.
    The gradient reaches the maximal window of each (word, kernel) only, shared
    evenly on ties (as ``segment_reduce`` does), and from there its w rows.
    """

    @staticmethod
    def forward(ctx, lookup: torch.Tensor, rows: torch.Tensor, word: torch.Tensor, n_words: int) -> torch.Tensor:
        h = F.embedding_bag(rows, lookup, mode="sum")  # (N, K)
        k = h.shape[1]
        # a word without characters has no window: -inf, and relu gives 0 as the conv form does
        best = h.new_full((n_words, k), float("-inf")).scatter_reduce_(
            0, word[:, None].expand(-1, k), h, "amax", include_self=False
        )
        ctx.save_for_backward(rows, word, h, best)
        ctx.n_lookup = lookup.shape[0]
        return best

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        rows, word, h, best = ctx.saved_tensors
        at_max = (h == best.index_select(0, word)).to(grad.dtype)
        ties = torch.zeros_like(best).index_add_(0, word, at_max).clamp_min_(1)
        grad_h = at_max.mul_((grad / ties).index_select(0, word))
        grad_lookup = grad.new_zeros(ctx.n_lookup, grad.shape[1])
        for j in range(rows.shape[1]):
            grad_lookup.index_add_(0, rows[:, j], grad_h)
        return grad_lookup, None, None, None


class CharCNN(nn.Module):
    def __init__(
        self,
        n_chars: int,
        emb_size: int = 50,
        kernels: int = 200,
        widths: tuple[int, ...] = (3, 4, 5),
        out_dim: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.emb = nn.Embedding(n_chars, emb_size, padding_idx=0)
        # One conv with the widest kernel would change the maths; keep one per width.
        self.convs = nn.ModuleList(nn.Conv1d(emb_size, kernels, w, padding=w - 1) for w in self.widths)
        self.fc = nn.Linear(kernels * len(self.widths), out_dim)
        self.dropout = Dropout(dropout)
        self.out_dim = out_dim

    def embed_types(self, chars: torch.Tensor) -> torch.Tensor:
        """(U, L) char ids of distinct words (0 = padding) → (U, out_dim)."""
        lengths = (chars != 0).sum(1)
        n = chars.shape[0]
        # row 0 (padding) stays 0 and gets no gradient, as with padding_idx
        table = dropout(F.pad(self.emb.weight[1:], (0, 0, 1, 0)), self.dropout.p, self.training)
        v, c = table.shape
        pooled = []
        for w, conv in zip(self.widths, cast("Iterable[nn.Conv1d]", self.convs)):
            k = conv.out_channels
            # lookup[j·V + v] = W_j · E[v]: the contribution of character v at offset j
            lookup = (table @ conv.weight.permute(1, 2, 0).reshape(c, w * k)).view(v, w, k)
            lookup = lookup.transpose(0, 1).reshape(w * v, k)
            # windows as in Conv1d(padding=w-1): a word of n chars has n + w - 1 of them
            win = F.pad(chars, (w - 1, w - 1)).unfold(1, w, 1)  # (U, L + w - 1, w)
            n_win = torch.where(lengths > 0, lengths + (w - 1), 0)
            real = torch.arange(win.shape[1], device=chars.device)[None, :] < n_win[:, None]
            rows = (win + torch.arange(w, device=chars.device) * v)[real]  # (windows, w)
            word = torch.repeat_interleave(torch.arange(n, device=chars.device), n_win)
            best = WindowMax.apply(lookup, rows, word, n)
            # max_t relu(h_t + b) = relu(max_t h_t + b)
            pooled.append(torch.relu(best + conv.bias))
        return self.fc(torch.cat(pooled, dim=1))

    def embed_types_conv(self, chars: torch.Tensor) -> torch.Tensor:
        """The same map as :meth:`embed_types` computed as convolutions (the reference;
        dropout, if training, per character occurrence)."""
        mask = chars != 0  # (U, L)
        x = self.dropout(self.emb(chars)).transpose(1, 2)  # (U, C, L)
        pooled = []
        for w, conv in zip(self.widths, cast("Iterable[nn.Conv1d]", self.convs)):
            h = conv1d(x, conv)  # (U, K, L + w - 1) thanks to padding=w-1
            # A window is valid when it overlaps at least one real character.
            valid = F.pad(mask, (w - 1, w - 1)).unfold(1, w, 1).any(-1)
            pooled.append(torch.relu(h.masked_fill(~valid.unsqueeze(1), float("-inf")).max(dim=2).values))
        return self.fc(torch.cat(pooled, dim=1))

    def forward(self, chars: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Distinct words (U, L) + index (B, T) into them → (B, T, out_dim)."""
        return self.embed_types(chars)[index]
