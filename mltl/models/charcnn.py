"""CharCNN character-level word embedding (paper §3.1, Appendix B).

"randomly initialized character embeddings of each character in a word ... a CNN
with kernel number 200 and kernel sizes 3, 4, and 5 ... max-pooled and fed into a
single fully-connected layer to form a 128 dimensional character-level word
embedding", shared by all languages.

It is the CPU bottleneck of MAN-MoE, and its output depends only on the word, so
callers pass the *distinct* words of a batch (U, L) plus an index (B, T) into
them: each word type is convolved once per batch.
"""
from __future__ import annotations

import torch
from torch import nn

from mltl.models.conv import conv1d
from mltl.models.dropout import Dropout


# Length groups per batch of word types: more groups cut more padding but add
# per-call overhead; below GROUP_MIN words per group it no longer pays.
N_GROUPS = 4
GROUP_MIN = 64


class CharCNN(nn.Module):
    def __init__(self, n_chars: int, emb_size: int = 50, kernels: int = 200,
                 widths: tuple[int, ...] = (3, 4, 5), out_dim: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.emb = nn.Embedding(n_chars, emb_size, padding_idx=0)
        # One conv with the widest kernel would change the maths; keep one per width.
        self.convs = nn.ModuleList(nn.Conv1d(emb_size, kernels, w, padding=w - 1) for w in self.widths)
        self.fc = nn.Linear(kernels * len(self.widths), out_dim)
        self.dropout = Dropout(dropout)
        self.out_dim = out_dim

    def embed_types(self, chars: torch.Tensor) -> torch.Tensor:
        """(U, L) char ids of distinct words (0 = padding) → (U, out_dim).

        Words are convolved in a few groups of similar length, each cut to its own
        longest word: most words are far shorter than ``max_word_len``, and padding
        columns cost as much as characters (half the CharCNN's time went to them).
        The result is the same as one padded batch: windows over padding only are
        masked out of the max-pool either way.
        """
        lengths = (chars != 0).sum(1)
        n = chars.shape[0]
        if n <= GROUP_MIN or int(lengths.max()) <= 4:
            return self._embed(chars)
        order = torch.argsort(lengths, stable=True)
        sizes = [len(g) for g in order.tensor_split(min(N_GROUPS, n // GROUP_MIN))]
        outs = []
        for idx in order.split(sizes):
            width = max(int(lengths[idx[-1]]), 1)   # sorted: the last is the longest
            outs.append(self._embed(chars[idx, :width]))
        out = torch.empty(n, self.out_dim, dtype=outs[0].dtype, device=outs[0].device)
        # scatter back to the callers' order; an index_put that autograd follows
        return out.index_put((order,), torch.cat(outs))

    def _embed(self, chars: torch.Tensor) -> torch.Tensor:
        mask = chars != 0  # (U, L)
        x = self.dropout(self.emb(chars)).transpose(1, 2)  # (U, C, L)
        pooled = []
        for w, conv in zip(self.widths, self.convs):
            h = conv1d(x, conv)  # (U, K, L + w - 1) thanks to padding=w-1
            # A window is valid when it overlaps at least one real character.
            # Output j covers chars j-w+1 .. j; padding both sides gives L+w-1 windows.
            valid = torch.nn.functional.pad(mask, (w - 1, w - 1)).unfold(1, w, 1).any(-1)
            # max_t relu(h_t) = relu(max_t h_t), and every word has a valid window:
            # ReLU after the pool costs U·K, not U·K·L, forward and backward.
            pooled.append(torch.relu(h.masked_fill(~valid.unsqueeze(1), float("-inf")).max(dim=2).values))
        return self.fc(torch.cat(pooled, dim=1))

    def forward(self, chars: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Distinct words (U, L) + index (B, T) into them → (B, T, out_dim)."""
        return self.embed_types(chars)[index]
