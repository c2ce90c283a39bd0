"""Choose what to label next (``mltl select``): from a pool of unlabeled sentences or documents,
the N most worth a person's time under the current model.

Strategies (pure functions of the model's confidences and shared features; seeded):

* ``uncertainty`` — the N least confident items: lowest ``score`` (for a sentence, the mean
  probability of its entity tags, :func:`mltl.predict.sentence_score`; for a document, its
  label's probability: the score ``mltl predict --scores`` writes and Label Studio sorts by).
* ``random`` — a uniform sample, the baseline every active-learning curve is measured against.
* ``diverse`` — k-means (k = N) on the mean Fs features of each item (the language-invariant
  features of Algorithm 1, so clusters are topics, not languages), then the least confident item
  of each cluster: uncertain *and* spread over the pool, not N variants of one hard sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from mltl.errors import InputError
from mltl.predict import Item, chunks

STRATEGIES = ("uncertainty", "random", "diverse")


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 20) -> np.ndarray:
    """Cluster ids (n,) of the rows of ``x`` (n, d): k-means++ seeding, then Lloyd iterations
    until no id changes (at most ``iters``). ``k`` ≤ n."""
    n = len(x)
    x = x.astype(np.float64, copy=False)
    sq = (x * x).sum(1)
    centers = [int(rng.integers(n))]
    d2 = np.maximum(sq - 2 * x @ x[centers[0]] + sq[centers[0]], 0)
    for _ in range(1, k):
        total = d2.sum()
        # all remaining points coincide with a centre: any unused point will do
        nxt = int(rng.choice(n, p=d2 / total)) if total > 0 else int(np.setdiff1d(np.arange(n), centers)[0])
        centers.append(nxt)
        d2 = np.minimum(d2, np.maximum(sq - 2 * x @ x[nxt] + sq[nxt], 0))
    c = x[centers].copy()
    ids = np.full(n, -1)
    for _ in range(iters):
        dist = sq[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
        new = dist.argmin(1)
        if np.array_equal(new, ids):
            break
        ids = new
        for j in range(k):
            members = ids == j
            if members.any():
                c[j] = x[members].mean(0)
    return ids


def choose(scores: np.ndarray, feats: np.ndarray | None, n: int, strategy: str, seed: int = 1) -> list[int]:
    """Indices of the ``n`` items to label next, most worth it first (``random``: in sampled order).

    ``scores`` (m,): confidence of each item (higher = surer); ``feats`` (m, d): its features
    (``diverse`` only). Ties go to the earlier item, so the choice is reproducible.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    m = len(scores)
    n = min(n, m)
    rng = np.random.default_rng(seed)
    by_uncertainty = np.argsort(scores, kind="stable")
    if strategy == "random":
        return [int(i) for i in rng.permutation(m)[:n]]
    if strategy == "uncertainty" or n == m:
        return [int(i) for i in by_uncertainty[:n]]
    assert feats is not None and len(feats) == m, "diverse selection needs one feature row per item"
    ids = kmeans(feats, n, rng)
    picked: list[int] = []
    seen: set[int] = set()
    for i in by_uncertainty:  # the least certain item of each cluster, least certain clusters first
        if ids[i] not in seen:
            seen.add(int(ids[i]))
            picked.append(int(i))
    chosen = set(picked)
    for i in by_uncertainty:  # a cluster left empty by Lloyd's updates: top up by uncertainty
        if len(picked) >= n:
            break
        if int(i) not in chosen:
            picked.append(int(i))
            chosen.add(int(i))
    return picked[:n]


def item_key(tokens: Sequence[str]) -> str:
    """What makes two items the same text for selection: their tokens, single-spaced."""
    return " ".join(tokens)


@dataclass
class Pool:
    """The candidate items with the model's confidence and mean Fs features for each."""

    items: list[Item] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    feats: list[np.ndarray] = field(default_factory=list)
    duplicates: int = 0
    excluded: int = 0
    empty: int = 0


def score_pool(
    model: Any,
    items: Iterable[Item],
    lang: str,
    exclude: set[str] = frozenset(),  # type: ignore[assignment]
    features: bool = True,
    batch_size: int = 256,
    on_chunk: Callable[[int], None] | None = None,
) -> Pool:
    """Predict every item once (in chunks), keeping its confidence and (``features``) its mean Fs
    features; empty items, repeats of an earlier item and items in ``exclude`` are left out."""
    pool = Pool()
    seen: set[str] = set()
    done = 0
    for chunk in chunks(items):
        keep = []
        for it in chunk:
            key = item_key(it.tokens)
            if not it.tokens:
                pool.empty += 1
            elif key in exclude:
                pool.excluded += 1
            elif key in seen:
                pool.duplicates += 1
            else:
                seen.add(key)
                keep.append(it)
        preds = model.predict_batch(
            lang,
            [it.tokens for it in keep],
            batch_size=batch_size,
            scores=model.task.token_level,
            features=features,
        )
        for it, p in zip(keep, preds):
            pool.items.append(it)
            pool.scores.append(confidence(p))
            if features:
                pool.feats.append(p["features"])
        done += len(chunk)
        if on_chunk:
            on_chunk(done)
    return pool


def confidence(pred: dict[str, Any]) -> float:
    """An item's confidence: its sentence score (:func:`mltl.predict.sentence_score`, the ``score``
    that ``predict --scores`` writes), or its label's probability."""
    from mltl.predict import sentence_score

    if "tag_probs" in pred:
        score = sentence_score(pred["tag_probs"], pred.get("tags"))
        return 1.0 if score is None else float(score)
    return float(max(pred["probs"].values())) if pred.get("probs") else 1.0


def excluded_keys(paths: Sequence[str | Path], read: Callable[[str], Iterable[Item]]) -> set[str]:
    """Texts already labeled: every item of the ``--exclude`` inputs — a dataset directory from
    ``mltl prepare`` (its train/dev/test.jsonl) or any file ``mltl predict`` reads."""
    keys: set[str] = set()
    for p in paths:
        d = Path(p)
        if d.is_dir():
            files = [d / f"{s}.jsonl" for s in ("train", "dev", "test") if (d / f"{s}.jsonl").is_file()]
            if not files:
                raise InputError("not a dataset directory (no train/dev/test.jsonl)", path=d)
            for f in files:
                keys.update(item_key(it.tokens) for it in read(str(f)))
        else:
            keys.update(item_key(it.tokens) for it in read(str(p)))
    return keys


__all__ = ["STRATEGIES", "kmeans", "choose", "score_pool", "confidence", "excluded_keys", "Pool", "item_key"]
