"""Feature extractors: the BiLSTM base of Fs and Fp, and a Kim (2014) CNN.

Appendix B: "Fs is a two-layer BiLSTM of hidden size 128 (64 for each
direction), and Fp is a two-layer BiLSTM of hidden size 128 stacked with a MoE
module". Encoders are registered by name so a plugin can add one.
"""

from __future__ import annotations

from typing import Iterable, cast

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mltl.models.bilstm_cpu import bilstm
from mltl.models.conv import conv1d
from mltl.models.dropout import Dropout
from mltl.registry import register_encoder


@register_encoder("bilstm")
class BiLSTMEncoder(nn.Module):
    """Contextual token features h_w: (B, T, in) → (B, T, hidden).

    ``hidden`` is the total size (both directions). Sequences are packed so the
    backward direction never reads padding: a sentence gets the same features
    whatever batch it is in (prediction = training-time evaluation).
    """

    def __init__(self, in_dim: int, hidden: int = 128, layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        if hidden % 2:
            raise ValueError("BiLSTM hidden size must be even (half per direction)")
        self.out_dim = hidden
        self.lstm = nn.LSTM(
            in_dim,
            hidden // 2,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu":
            # same maths, a third less time than nn.LSTM's packed CPU path (see bilstm_cpu)
            return bilstm(x, lengths, self.lstm, self.lstm.dropout, self.training)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out


@register_encoder("cnn")
class ConvEncoder(nn.Module):
    """Token features from stacked convolutions: (B, T, in) → (B, T, hidden).

    The encoder contract of Fs/Fp (``enc(in_dim, hidden, layers, dropout)``, see
    docs/plugins.md): ``layers`` width-3 convolutions of ``hidden`` channels, each
    followed by tanh (the range of the BiLSTM's features, which the MoE experts
    match). Padding is zeroed before every layer, so a token's features do not
    depend on its batch-mates. A faster, shorter-context alternative to the
    BiLSTM (``--encoder cnn``); not in the paper.
    """

    def __init__(self, in_dim: int, hidden: int = 128, layers: int = 2, dropout: float = 0.5, width: int = 3) -> None:
        super().__init__()
        self.out_dim = hidden
        self.convs = nn.ModuleList(
            nn.Conv1d(in_dim if i == 0 else hidden, hidden, width, padding=width // 2) for i in range(max(1, layers))
        )
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        mask = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        h = x.transpose(1, 2)
        for i, conv in enumerate(cast("Iterable[nn.Conv1d]", self.convs)):
            if i:
                h = self.dropout(h)
            h = torch.tanh(conv1d(h * mask, conv)) * mask
        return h.transpose(1, 2)


class CNNEncoder(nn.Module):
    """Kim (2014) CNN: convolutions of several widths, ReLU, max-pool over time.

    (B, T, in) + mask (B, T) → (B, kernels · len(widths)): a sentence vector, D's
    encoder (not a token encoder for Fs/Fp; that is :class:`ConvEncoder`).
    """

    def __init__(
        self, in_dim: int, kernels: int = 200, widths: tuple[int, ...] = (3, 4, 5), dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.convs = nn.ModuleList(nn.Conv1d(in_dim, kernels, w) for w in self.widths)
        self.out_dim = kernels * len(self.widths)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x) * mask.unsqueeze(-1).to(x.dtype)
        # Always zero-pad by (widest - 1): every window that starts on a real token
        # exists whatever the batch's padding, so a sentence's features do not
        # depend on its batch-mates, and sentences shorter than a kernel still work.
        extra = max(self.widths) - 1
        x = nn.functional.pad(x, (0, 0, 0, extra))
        mask = nn.functional.pad(mask, (0, extra))
        xt = x.transpose(1, 2)  # (B, in, T + extra)
        pooled = []
        for w, conv in zip(self.widths, cast("Iterable[nn.Conv1d]", self.convs)):
            h = conv1d(xt, conv)  # (B, K, T + extra - w + 1)
            valid = mask[:, : h.shape[2]].unsqueeze(1)  # windows starting on a real token
            # max_t relu(h_t) = relu(max_t h_t): ReLU after the pool touches B·K values,
            # not B·K·T (a tenth of D's time); relu(-inf) = 0 covers empty sentences.
            pooled.append(torch.relu(h.masked_fill(~valid, float("-inf")).max(dim=2).values))
        return torch.cat(pooled, dim=1)
