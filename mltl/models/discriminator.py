"""Language discriminator D (paper §3.1, Appendix B).

"a CNN text classifier (Kim, 2014) ... takes as input the shared feature vectors
of each token, and employs a CNN with max-pooling ... fed into a MLP for
classifying the language of the input sequence. The number of kernels is 200 ...
kernel sizes are 3, 4, and 5. The MLP has one hidden layer of size 128."
D predicts over *all* languages Δ (sources, target, extra unlabeled ones).
"""

from __future__ import annotations

import torch
from torch import nn

from mltl.models.dropout import Dropout
from mltl.models.encoders import CNNEncoder


class LanguageDiscriminator(nn.Module):
    def __init__(
        self,
        in_dim: int,
        n_langs: int,
        kernels: int = 200,
        widths: tuple[int, ...] = (3, 4, 5),
        hidden: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.cnn = CNNEncoder(in_dim, kernels, widths, dropout=dropout)
        self.mlp = nn.Sequential(
            nn.Linear(self.cnn.out_dim, hidden), nn.ReLU(), Dropout(dropout), nn.Linear(hidden, n_langs)
        )

    def forward(self, fs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Shared features (B, T, in) → language logits (B, |Δ|)."""
        return self.mlp(self.cnn(fs, mask))
