"""Slow, obviously-correct references the fast code in mltl is tested against."""

from __future__ import annotations

import numpy as np


def csls_dense(X: np.ndarray, Z: np.ndarray, k: int = 10) -> np.ndarray:
    """Reference CSLS matrix computed densely in numpy (small sizes only)."""
    sims = X @ Z.T
    kx, kz = min(k, Z.shape[0]), min(k, X.shape[0])
    r_x = -np.sort(-sims, axis=1)[:, :kx].mean(axis=1)
    r_z = -np.sort(-sims, axis=0)[:kz, :].mean(axis=0)
    return 2 * sims - r_x[:, None] - r_z[None, :]
