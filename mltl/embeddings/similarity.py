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

import functools
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


BF16_MIN_ROWS = 4096  # below this the fp32 matmul is cheap anyway


def bf16_is_fast(dev: Any = None) -> bool:
    """True on CPUs with native bf16 dot products (``avx512_bf16``/``amx_bf16`` flags),
    where torch's bf16 matmul runs at about twice the fp32 speed. Elsewhere (older
    CPUs emulate bf16 slowly; GPUs are fast in fp32 already) the exact path is used."""
    if dev is not None and getattr(dev, "type", "cpu") != "cpu":
        return False
    return _cpu_has_bf16()


@functools.lru_cache(maxsize=1)
def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "").split()
    except OSError:
        flags = []
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _use_bf16(fast: bool | None, Q: Any, T: Any) -> bool:
    if fast is not None:
        return fast
    return T.shape[0] >= BF16_MIN_ROWS and bf16_is_fast(Q.device)


def _shortlist(Qc: Any, T: Any, Tb: Any, n: int, r_T: Any = None, extra: int | None = None) -> tuple[Any, Any]:
    """Top-``n`` rows of ``T`` for each row of ``Qc``: a bf16 matmul picks ``n + extra``
    candidates (default ``extra = n + 16``), fp32 dot products rescore them exactly,
    the best ``n`` are kept.

    The result equals the exact one unless bf16 rounding (≲ 4·10⁻³ on a cosine)
    pushes a true top-``n`` row below ``extra`` others, which needs that many
    near-ties; the scores returned are always exact fp32 values.
    """
    import torch

    m = min(T.shape[0], n + (n + 16 if extra is None else extra))
    rough = Qc.to(torch.bfloat16) @ Tb.T
    if r_T is not None:
        rough = 2 * rough.float() - r_T[None, :]
    cand = rough.topk(m, dim=1).indices
    exact = torch.einsum("qd,qcd->qc", Qc, T[cand])
    if r_T is not None:
        exact = 2 * exact - r_T[cand]
    v, o = exact.topk(n, dim=1)
    return v, cand.gather(1, o)


def topk_mean(Q: Any, T: Any, k: int = 10, budget: int = DEFAULT_BUDGET, fast: bool | None = None) -> Any:
    """For each row of ``Q``: mean similarity to its ``k`` nearest rows of ``T``.

    This is CSLS's ``r_T(q)``. ``k`` is capped at ``len(T)``. ``fast`` (default:
    on CPUs with native bf16, for ``len(T) ≥ 4096``) finds the neighbours with a
    bf16 matmul and averages their exact fp32 cosines (see :func:`_shortlist`).
    """
    import torch

    k = min(k, T.shape[0])
    out = torch.empty(Q.shape[0], dtype=torch.float32, device=Q.device)
    step = _chunk_rows(T.shape[0], budget)
    bf16 = _use_bf16(fast, Q, T)
    Tb = T.to(torch.bfloat16) if bf16 else None
    for s in range(0, Q.shape[0], step):
        if bf16:
            # 8 spare candidates: fetching the rows to rescore is the costly part here
            out[s : s + step] = _shortlist(Q[s : s + step], T, Tb, k, extra=8)[0].mean(dim=1)
        else:
            sims = Q[s : s + step] @ T.T
            out[s : s + step] = sims.topk(k, dim=1).values.mean(dim=1)
    return out


def search(
    Q: Any,
    T: Any,
    k: int = 10,
    method: str = "nn",
    r_T: Any = None,
    budget: int = DEFAULT_BUDGET,
    fast: bool | None = None,
) -> tuple[Any, Any]:
    """Top-``k`` rows of ``T`` for each row of ``Q`` by cosine (``nn``) or CSLS.

    For ``csls`` pass ``r_T`` (see :func:`topk_mean`); the query's own ``r_Q``
    does not change its ranking, so scores returned are ``2 cos - r_T``.
    Returns ``(scores, indices)`` tensors of shape ``(len(Q), k)``. ``fast`` as in
    :func:`topk_mean`: bf16 shortlist, exact fp32 scores.
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
    bf16 = _use_bf16(fast, Q, T)
    Tb = T.to(torch.bfloat16) if bf16 else None
    for s in range(0, Q.shape[0], step):
        if bf16:
            v, i = _shortlist(Q[s : s + step], T, Tb, k, r_T if method == "csls" else None)
        else:
            sims = Q[s : s + step] @ T.T
            if method == "csls":
                sims = 2 * sims - r_T[None, :]
            v, i = sims.topk(k, dim=1)
        scores[s : s + step], idx[s : s + step] = v, i
    return scores, idx


def _direction(
    Q: Any, T: Any, *, csls_k: int, r_T: Any, keep_prob: float, generator: Any, budget: int
) -> tuple[Any, Any, Any]:
    """Best row of ``T`` for each row of ``Q`` (CSLS with ``r_T``, or cosine if None).

    Also returns ``r_Q`` (mean cosine of each query to its ``csls_k`` nearest rows
    of ``T``) measured in the same pass, and the cosine of each chosen match.
    Rows are processed in chunks; only row-wise reductions are used because
    column-wise ones on a row-major matrix are ~4x slower on a CPU.

    Dropout (``keep_prob < 1``): each score survives with probability keep_prob
    and the best survivor wins. The best survivor is the first survivor in
    descending score order, so it suffices to draw the coin flips for the
    ``_DROP_TOP`` best scores of each row (a miss among all of them has
    probability (1 - p)^64 ≈ 0.1% at p = 0.1, and then the 64th is taken):
    the same distribution as masking the whole row, at a fraction of the cost.
    """
    import torch

    n, m = Q.shape[0], T.shape[0]
    k = min(csls_k, m)
    r_Q = torch.empty(n, dtype=torch.float32, device=Q.device)
    best = torch.empty(n, dtype=torch.long, device=Q.device)
    best_cos = torch.empty(n, dtype=torch.float32, device=Q.device)
    step = _chunk_rows(m, budget)
    for s in range(0, n, step):
        sims = Q[s : s + step] @ T.T
        r_Q[s : s + step] = sims.topk(k, dim=1).values.mean(dim=1)
        score = sims if r_T is None else (2 * sims).sub_(r_T[None, :])
        if keep_prob < 1.0:
            top = score.topk(min(_DROP_TOP, m), dim=1).indices
            alive = torch.rand(top.shape, generator=generator, device=Q.device) < keep_prob
            alive[:, -1] = True  # fallback: the last of the shortlist
            arg = top.gather(1, alive.to(torch.uint8).argmax(dim=1, keepdim=True))[:, 0]
        else:
            arg = score.argmax(dim=1)
        best[s : s + step] = arg
        best_cos[s : s + step] = sims.gather(1, arg[:, None])[:, 0]
    return r_Q, best, best_cos


_DROP_TOP = 64


def induce(
    Xm: Any,
    Z: Any,
    *,
    csls_k: int = 10,
    r_x: Any = None,
    r_z: Any = None,
    keep_prob: float = 1.0,
    generator: Any = None,
    use_csls: bool = True,
    budget: int = DEFAULT_BUDGET,
) -> dict[str, Any]:
    """Forward (row of ``Xm`` -> best row of ``Z``) and backward matches, two passes.

    The forward pass ranks by CSLS with the given ``r_z`` (cosine when None) and
    measures a fresh ``r_x``; the backward pass ranks with that fresh ``r_x`` and
    measures a fresh ``r_z``. Self-learning passes the previous iteration's
    ``r_z`` (it changes slowly), saving a third pass; :func:`induce_exact` pays
    it for exact CSLS. ``r_x`` is accepted for symmetry and ignored.

    ``keep_prob < 1`` is stochastic dictionary induction (Artetxe et al., 2018):
    each similarity is dropped with probability 1 - keep_prob, so early noisy
    iterations can escape poor local optima.
    """
    del r_x
    rx, fwd, fwd_cos = _direction(
        Xm, Z, csls_k=csls_k, r_T=r_z if use_csls else None, keep_prob=keep_prob, generator=generator, budget=budget
    )
    rz, bwd, bwd_cos = _direction(
        Z, Xm, csls_k=csls_k, r_T=rx if use_csls else None, keep_prob=keep_prob, generator=generator, budget=budget
    )
    return {"fwd": fwd, "fwd_cos": fwd_cos, "bwd": bwd, "bwd_cos": bwd_cos, "r_x": rx, "r_z": rz}


def induce_exact(
    Xm: Any, Z: Any, *, csls_k: int = 10, use_csls: bool = True, budget: int = DEFAULT_BUDGET
) -> dict[str, Any]:
    """:func:`induce` with exact CSLS: ``r_z`` is measured first (three passes)."""
    if not use_csls or csls_k <= 0:
        return induce(Xm, Z, csls_k=max(csls_k, 1), use_csls=False, budget=budget)
    r_z = topk_mean(Z, Xm, k=csls_k, budget=budget)
    return induce(Xm, Z, csls_k=csls_k, r_z=r_z, budget=budget)


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
