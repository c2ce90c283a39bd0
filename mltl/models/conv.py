"""1-D convolution for the CNNs of CharCNN and D: cuDNN-free on CUDA.

On CUDA every batch here has a new shape (words grouped by length, sentences cut
to their longest), and cuDNN builds an execution plan per new shape: ~1.5 ms of
CPU time per call, forward and backward, 37 % of a MAN-MoE step on an H200 (the
GPU itself sat idle). A convolution is a matrix product over the unfolded windows,
and cuBLAS needs no plan, so on CUDA it is computed that way. On CPU oneDNN's
convolution is faster than the unfolded copy and is used as it is.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


def conv1d(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv(x)`` for ``x`` of shape (N, C, L) → (N, K, L'), stride 1, no dilation or groups."""
    if x.device.type != "cuda":
        return conv(x)
    return conv1d_unfolded(x, conv)


def conv1d_unfolded(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """The same convolution as one matrix product over the unfolded windows (any device)."""
    # padding may be a str ('same') in general; the convs here are all built with an int
    width, pad = conv.kernel_size[0], cast(int, conv.padding[0])
    k = conv.out_channels
    xl = x.transpose(1, 2)  # (N, L, C)
    if pad:
        xl = F.pad(xl, (0, 0, pad, pad))
    n, length, c = xl.shape
    windows = xl.unfold(1, width, 1)  # (N, L', C, w): the weight's (C, w) order
    n_out = windows.shape[1]
    out = F.linear(windows.reshape(n * n_out, c * width), conv.weight.reshape(k, c * width), conv.bias)
    return out.view(n, n_out, k).transpose(1, 2)  # (N, K, L') as a view, like conv's output
