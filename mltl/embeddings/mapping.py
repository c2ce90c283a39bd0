"""Orthogonal mappings: Procrustes and how far a matrix is from orthogonal."""

from __future__ import annotations

from typing import Any

import numpy as np


def procrustes(X: Any, Y: Any) -> np.ndarray:
    """Orthogonal ``W`` minimising ``||X W - Y||_F`` for paired rows of ``X`` and ``Y``.

    Closed form (Schönemann, 1966): with ``U S V^T = svd(X^T Y)``, ``W = U V^T``.
    Accepts numpy arrays or torch tensors; the d x d SVD runs in float64 so the
    result is orthogonal to machine precision. Returns a float32 numpy array.
    """
    import torch

    Xt = X if isinstance(X, torch.Tensor) else torch.from_numpy(np.asarray(X, dtype=np.float32))
    Yt = Y if isinstance(Y, torch.Tensor) else torch.from_numpy(np.asarray(Y, dtype=np.float32))
    if Xt.shape != Yt.shape:
        raise ValueError(f"procrustes needs paired rows: {tuple(Xt.shape)} vs {tuple(Yt.shape)}")
    if Xt.shape[0] == 0:
        raise ValueError("procrustes needs at least one pair")
    M = (Xt.T.to(torch.float64) @ Yt.to(torch.float64)).cpu()
    U, _, Vt = torch.linalg.svd(M)
    return (U @ Vt).numpy().astype(np.float32)


def orthogonality_error(W: np.ndarray) -> float:
    """``max |W^T W - I|``: 0 for an exact rotation/reflection."""
    W64 = np.asarray(W, dtype=np.float64)
    return float(np.abs(W64.T @ W64 - np.eye(W64.shape[1])).max())


def random_rotation(dim: int, seed: int = 0) -> np.ndarray:
    """A random orthogonal matrix (QR of a Gaussian, signs fixed), for tests and benchmarks."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * np.sign(np.diag(r))).astype(np.float32)
