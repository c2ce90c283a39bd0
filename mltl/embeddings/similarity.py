"""Chunked similarity search in torch: k-NN means, NN and CSLS retrieval.

Everything here works on row-normalised matrices (cosine = dot product) and
never materialises a ``len(X) x len(Z)`` matrix: rows of the query side are
processed in chunks sized so one chunk of scores stays under ``budget``
elements (128 MiB of float32 by default). A GPU is used when torch sees one.

CSLS (Conneau et al., 2018, "Word translation without parallel data")::

    CSLS(x, z) = 2 cos(x, z) - r_Z(x) - r_X(z)

where ``r_Z(x)`` is the mean cosine of ``x`` to its ``k`` nearest neighbours in
``Z`` and ``r_X(z)`` the same for ``z`` in ``X``. Words that are near everything
("hubs") have a high ``r`` and are pushed down.
"""
from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_BUDGET = 32 * 1024 * 1024  # score elements per chunk (float32: 128 MiB)


def device() -> Any:
    """The torch device computations run on: CUDA when available, else CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensor(m: Any, dev: Any = None) -> Any:
    """A float32 torch tensor on ``dev`` from a numpy array (memmaps included) or tensor."""
    import torch

    dev = dev if dev is not None else device()
    if isinstance(m, torch.Tensor):
        return m.to(device=dev, dtype=torch.float32)
    return torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32)).to(dev)


def _chunk_rows(n_cols: int, budget: int) -> int:
    return max(1, budget // max(1, n_cols))


def topk_mean(Q: Any, T: Any, k: int = 10, budget: int = DEFAULT_BUDGET) -> Any:
    """For each row of ``Q``: mean similarity to its ``k`` nearest rows of ``T``.

    This is CSLS's ``r_T(q)``. ``k`` is capped at ``len(T)``.
    """
    import torch

    k = min(k, T.shape[0])
    out = torch.empty(Q.shape[0], dtype=torch.float32, device=Q.device)
    step = _chunk_rows(T.shape[0], budget)
    for s in range(0, Q.shape[0], step):
        sims = Q[s:s + step] @ T.T
        out[s:s + step] = sims.topk(k, dim=1).values.mean(dim=1)
    return out


def search(Q: Any, T: Any, k: int = 10, method: str = "nn", r_T: Any = None,
           budget: int = DEFAULT_BUDGET) -> tuple[Any, Any]:
    """Top-``k`` rows of ``T`` for each row of ``Q`` by cosine (``nn``) or CSLS.

    For ``csls`` pass ``r_T`` (see :func:`topk_mean`); the query's own ``r_Q``
    does not change its ranking, so scores returned are ``2 cos - r_T``.
    Returns ``(scores, indices)`` tensors of shape ``(len(Q), k)``.
    """
    import torch

    if method not in ("nn", "csls"):
        raise ValueError(f"unknown retrieval method {method!r}")
    if method == "csls" and r_T is None:
        raise ValueError("csls needs r_T")
    k = min(k, T.shape[0])
    scores = torch.empty(Q.shape[0], k, dtype=torch.float32, device=Q.device)
    idx = torch.empty(Q.shape[0], k, dtype=torch.long, device=Q.device)
    step = _chunk_rows(T.shape[0], budget)
    for s in range(0, Q.shape[0], step):
        sims = Q[s:s + step] @ T.T
        if method == "csls":
            sims = 2 * sims - r_T[None, :]
        v, i = sims.topk(k, dim=1)
        scores[s:s + step], idx[s:s + step] = v, i
    return scores, idx


def csls_dense(X: np.ndarray, Z: np.ndarray, k: int = 10) -> np.ndarray:
    """Reference CSLS matrix computed densely in numpy (for tests on small sizes)."""
    sims = X @ Z.T
    kx, kz = min(k, Z.shape[0]), min(k, X.shape[0])
    r_x = -np.sort(-sims, axis=1)[:, :kx].mean(axis=1)
    r_z = -np.sort(-sims, axis=0)[:kz, :].mean(axis=0)
    return 2 * sims - r_x[:, None] - r_z[None, :]


def induce(Xm: Any, Z: Any, *, csls_k: int = 10, r_x: Any = None, r_z: Any = None,
           keep_prob: float = 1.0, generator: Any = None,
           budget: int = DEFAULT_BUDGET) -> dict[str, Any]:
    """One pass over ``Xm @ Z.T`` in row chunks for dictionary induction.

    Returns forward (row -> best column) and backward (column -> best row)
    matches under CSLS with the given ``r_x``/``r_z`` (plain cosine where they
    are None), the cosine of each match, and the *new* ``r_x``/``r_z`` measured
    during the same pass, so self-learning can reuse them next iteration
    (:func:`induce_exact` does two passes when exact CSLS is needed).

    ``keep_prob < 1`` is stochastic dictionary induction (Artetxe et al., 2018):
    each similarity is dropped (cannot be chosen) with probability 1 - keep_prob,
    which lets early, noisy iterations escape poor local optima.
    """
    import torch

    n, m = Xm.shape[0], Z.shape[0]
    dev = Xm.device
    kx, kz = min(csls_k, m), min(csls_k, n)
    new_rx = torch.empty(n, dtype=torch.float32, device=dev)
    col_top = torch.full((kz, m), -float("inf"), dtype=torch.float32, device=dev)
    fwd = torch.empty(n, dtype=torch.long, device=dev)
    fwd_cos = torch.empty(n, dtype=torch.float32, device=dev)
    bwd_score = torch.full((m,), -float("inf"), dtype=torch.float32, device=dev)
    bwd = torch.zeros(m, dtype=torch.long, device=dev)
    bwd_cos = torch.zeros(m, dtype=torch.float32, device=dev)
    step = _chunk_rows(m, budget)
    for s in range(0, n, step):
        sims = Xm[s:s + step] @ Z.T
        rows = sims.shape[0]
        new_rx[s:s + rows] = sims.topk(kx, dim=1).values.mean(dim=1)
        col_top = torch.cat([col_top, sims.topk(min(kz, rows), dim=0).values]).topk(kz, dim=0).values
        # Forward: CSLS minus the row's own r (constant per row, ranking unchanged).
        score = 2 * sims - r_z[None, :] if r_z is not None else sims.clone()
        if keep_prob < 1.0:
            drop = torch.rand(score.shape, generator=generator, device=dev) >= keep_prob
            score.masked_fill_(drop, -float("inf"))
        best, arg = score.max(dim=1)
        fwd[s:s + rows] = arg
        fwd_cos[s:s + rows] = sims.gather(1, arg[:, None])[:, 0]
        # Backward: best row for each column, merged across chunks.
        score = 2 * sims - r_x[s:s + rows, None] if r_x is not None else sims
        if keep_prob < 1.0:
            drop = torch.rand(score.shape, generator=generator, device=dev) >= keep_prob
            score = score.masked_fill(drop, -float("inf"))
        cbest, carg = score.max(dim=0)
        better = cbest > bwd_score
        bwd_score = torch.where(better, cbest, bwd_score)
        bwd = torch.where(better, carg + s, bwd)
        bwd_cos = torch.where(better, sims.gather(0, carg[None, :])[0], bwd_cos)
    return {"fwd": fwd, "fwd_cos": fwd_cos, "bwd": bwd, "bwd_cos": bwd_cos,
            "r_x": new_rx, "r_z": col_top.mean(dim=0)}


def induce_exact(Xm: Any, Z: Any, *, csls_k: int = 10, use_csls: bool = True,
                 budget: int = DEFAULT_BUDGET) -> dict[str, Any]:
    """:func:`induce` with exact CSLS: a first pass measures ``r_x``/``r_z``."""
    if not use_csls or csls_k <= 0:
        return induce(Xm, Z, csls_k=max(csls_k, 1), budget=budget)
    first = induce(Xm, Z, csls_k=csls_k, budget=budget)
    return induce(Xm, Z, csls_k=csls_k, r_x=first["r_x"], r_z=first["r_z"], budget=budget)


def pairs_from(result: dict[str, Any], direction: str = "mutual") -> tuple[np.ndarray, np.ndarray, float]:
    """Dictionary ``(src_idx, tgt_idx)`` and objective from an :func:`induce` result.

    ``direction``: ``forward`` (every source word's best target), ``backward``,
    ``union`` of both (vecmap's bidirectional induction) or ``mutual`` (pairs that
    are each other's best match: fewer, more precise; MUSE's refinement).
    The objective is the mean cosine of the forward and backward best matches.
    """
    fwd = result["fwd"].cpu().numpy()
    bwd = result["bwd"].cpu().numpy()
    obj = float((result["fwd_cos"].mean() + result["bwd_cos"].mean()) / 2)
    src_f = np.arange(len(fwd))
    tgt_b = np.arange(len(bwd))
    if direction == "forward":
        return src_f, fwd, obj
    if direction == "backward":
        return bwd, tgt_b, obj
    if direction == "union":
        pairs = np.unique(np.concatenate([np.stack([src_f, fwd], 1), np.stack([bwd, tgt_b], 1)]), axis=0)
        return pairs[:, 0], pairs[:, 1], obj
    if direction == "mutual":
        keep = bwd[fwd] == src_f
        return src_f[keep], fwd[keep], obj
    raise ValueError(f"unknown dictionary direction {direction!r}")
