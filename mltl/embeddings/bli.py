"""Bilingual lexicon induction (BLI): precision@k of word translation retrieval.

For every source word of a gold dictionary that is in the source vocabulary and
has at least one gold translation in the target vocabulary (a *query*), the
``k`` best targets are retrieved by cosine (``nn``) or CSLS; the query counts as
correct at ``k`` when **any** of its gold translations is among them (MUSE's
convention). Coverage is the share of the dictionary's source words that became
queries.

CSLS at scale: a target's hubness term ``r_X(t)`` needs its ``csls_k`` nearest
source words. Measured over the whole source vocabulary that is a
200k x 200k product (minutes on a CPU), so by default it is measured against the
``csls_pool`` most frequent source words, and only for the ``csls_candidates``
best cosine targets of each query (CSLS re-ranks those). With both set to None
it is exact CSLS over everything, as the tests check against a dense reference.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mltl.embeddings.dictionary import read_dictionary
from mltl.embeddings.vectors import Vectors, load_vectors, unit_length
from mltl.errors import InputError

KS = (1, 5, 10)


def _queries(
    src: Vectors, tgt: Vectors, pairs: Sequence[tuple[str, str]]
) -> tuple[list[int], list[set[int]], int, int]:
    gold: dict[int, set[int]] = {}
    src_words: set[str] = set()
    in_vocab = 0
    for s, t in pairs:
        src_words.add(s)
        i, j = src.index.get(s), tgt.index.get(t)
        if i is not None and j is not None:
            gold.setdefault(i, set()).add(j)
            in_vocab += 1
    q = sorted(gold)
    return q, [gold[i] for i in q], in_vocab, len(src_words)


def evaluate_bli(
    src: Vectors,
    tgt: Vectors,
    pairs: Sequence[tuple[str, str]],
    *,
    ks: Sequence[int] = KS,
    methods: Sequence[str] = ("nn", "csls"),
    csls_k: int = 10,
    csls_pool: int | None = 10000,
    csls_candidates: int | None = 50,
    dict_path: str | Path | None = None,
) -> dict[str, Any]:
    """Precision@k (in %) per retrieval method, plus coverage counts.

    ``src``/``tgt`` must already live in one space (e.g. outputs of ``align``);
    they are length-normalised here so scores are cosines.
    """
    import torch

    from mltl.embeddings.similarity import as_tensor, search, topk_mean

    t0 = time.perf_counter()
    if src.dim != tgt.dim:
        raise InputError(f"source vectors have dimension {src.dim} but target vectors {tgt.dim}", path=tgt.path)
    q, gold, in_vocab, n_src = _queries(src, tgt, pairs)
    if not q:
        raise InputError(
            f"0 of {len(pairs)} dictionary pairs have both words in the vocabularies "
            f"({len(src)} source, {len(tgt)} target words); wrong direction or case?",
            path=dict_path,
        )
    kmax = max(ks)
    with torch.no_grad():
        T = as_tensor(unit_length(tgt.matrix))
        Q = as_tensor(unit_length(np.asarray(src.matrix[q])), T.device)
        result: dict[str, Any] = {
            "queries": len(q),
            "pairs_total": len(pairs),
            "pairs_in_vocab": in_vocab,
            "source_words_in_dictionary": n_src,
            "coverage": round(100.0 * len(q) / max(1, n_src), 2),
            "source_vocab": len(src),
            "target_vocab": len(tgt),
        }
        n_cand = T.shape[0] if csls_candidates is None else min(T.shape[0], max(kmax, csls_candidates))
        _, nn_idx = search(Q, T, k=max(kmax, n_cand if "csls" in methods else kmax), method="nn")
        for method in methods:
            if method == "nn":
                top = nn_idx[:, :kmax]
            elif method == "csls":
                pool = src.matrix if csls_pool is None else src.matrix[:csls_pool]
                P = as_tensor(unit_length(np.asarray(pool)), T.device)
                cand = nn_idx[:, :n_cand]
                uniq, inv = torch.unique(cand, return_inverse=True)
                r_t = topk_mean(T[uniq], P, k=csls_k)  # hubness of each candidate
                # Cosines of each query to its own candidates, in blocks (bounded memory).
                cos = torch.cat(
                    [
                        torch.einsum("qd,qcd->qc", Q[b : b + 256], T[cand[b : b + 256]])
                        for b in range(0, Q.shape[0], 256)
                    ]
                )
                score = 2 * cos - r_t[inv]
                order = score.topk(min(kmax, n_cand), dim=1).indices
                top = cand.gather(1, order)
            else:
                raise InputError(f"unknown retrieval method {method!r}; use nn or csls")
            top_np = top.cpu().numpy()
            result[method] = {f"p@{k}": round(100.0 * _hits(top_np, gold, k) / len(q), 2) for k in ks}
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


def _hits(top: np.ndarray, gold: list[set[int]], k: int) -> int:
    return sum(1 for row, g in zip(top, gold) if any(int(j) in g for j in row[:k]))


def run_bli(
    src_path: str | Path,
    tgt_path: str | Path,
    dict_path: str | Path,
    *,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    max_vocab: int | None = 200000,
    **kwargs: Any,
) -> dict[str, Any]:
    """Load two aligned vector files and a MUSE dictionary, return :func:`evaluate_bli`'s result."""
    pairs = read_dictionary(dict_path)
    src = load_vectors(src_path, max_vocab=max_vocab)
    tgt = load_vectors(tgt_path, max_vocab=max_vocab)
    result = evaluate_bli(src, tgt, pairs, dict_path=dict_path, **kwargs)
    return {
        "src": src_lang,
        "tgt": tgt_lang,
        "src_vectors": str(src_path),
        "tgt_vectors": str(tgt_path),
        "dictionary": str(dict_path),
        **result,
    }
