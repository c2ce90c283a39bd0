"""Issue 19: does `mltl predict --scores` mean anything? Span precision by score decile and the
Spearman correlation of sentence score with sentence F1, on a gold test set.

    python bench/bench_confidence.py --model bench/work/lc/conll-es-MAN-MoE-new/model-best \
        --test bench/work/gold-quick/data/conll/es/test.jsonl --lang es

The test file is a `mltl prepare` dataset split (tokens + gold tags; bench/gold.py makes them
from ../shared/data). The model predicts it through the functions `mltl predict --scores` uses
(``Model.predict_batch(scores=True)``, ``mltl.predict.entities``, ``sentence_score``); the
analysis is here:

* every predicted entity, sorted by its score and cut into ten equal-count deciles: the share of
  each decile that is a gold entity (same type, same tokens) — a useful score rises with the decile;
* per sentence with a gold or a predicted entity: entity F1 against the sentence score (mltl's:
  the mean probability of its entity tags, or its least probable tag; and, for comparison, the
  plain mean over all its tags); Spearman's rho with average ranks for ties.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mltl.data.schemes import to_spans


def ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (as Spearman's rho wants)."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x), dtype=np.float64)
    r[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        same = x == v
        if same.sum() > 1:
            r[same] = r[same].mean()
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's r of the (tie-averaged) ranks."""
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den else float("nan")


def deciles(scores: np.ndarray, correct: np.ndarray, n: int = 10) -> list[tuple[float, float, int, float]]:
    """(lowest score, highest score, count, precision) of each of ``n`` equal-count score bins."""
    order = np.argsort(scores, kind="stable")
    out = []
    for part in np.array_split(order, n):
        if len(part):
            out.append((float(scores[part].min()), float(scores[part].max()), len(part), float(correct[part].mean())))
    return out


def sentence_f1(gold: set, pred: set) -> float:
    tp = len(gold & pred)
    return 2 * tp / (len(gold) + len(pred)) if gold or pred else 1.0


def analyse(records: list[dict]) -> dict:
    """``records``: ``{gold, entities (with score), score, mean}`` per sentence."""
    ent_scores, ent_ok, sent_scores, sent_means, sent_f1 = [], [], [], [], []
    tp = n_pred = n_gold = 0
    for r in records:
        gold = {(lab, s, e) for lab, s, e in to_spans(r["gold"])}
        pred = {(e["label"], e["token_start"], e["token_end"]) for e in r["entities"]}
        for e in r["entities"]:
            ent_scores.append(e["score"])
            ent_ok.append((e["label"], e["token_start"], e["token_end"]) in gold)
        tp += len(gold & pred)
        n_pred += len(pred)
        n_gold += len(gold)
        if (gold or pred) and r.get("score") is not None:
            sent_scores.append(r["score"])
            sent_means.append(r["mean"])
            sent_f1.append(sentence_f1(gold, pred))
    p = tp / n_pred if n_pred else 0.0
    rc = tp / n_gold if n_gold else 0.0
    return {
        "sentences": len(records),
        "entities_predicted": n_pred,
        "entity_f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
        "precision": p,
        "deciles": deciles(np.array(ent_scores), np.array(ent_ok, dtype=float)),
        "spearman_sentence_score_f1": spearman(np.array(sent_scores), np.array(sent_f1)),
        "spearman_plain_mean_f1": spearman(np.array(sent_means), np.array(sent_f1)),
        "sentences_scored": len(sent_scores),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", required=True, help="a dataset split: JSONL with tokens and gold tags")
    ap.add_argument("--lang", required=True)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    from mltl.models.model import load_model
    from mltl.predict import Item, entities, sentence_score

    t = time.perf_counter()
    model = load_model(args.model, device="cpu")
    gold = [json.loads(x) for x in Path(args.test).read_text(encoding="utf-8").splitlines()]
    preds = model.predict_batch(args.lang, [g["tokens"] for g in gold], scores=True)
    records = []
    for g, p in zip(gold, preds):
        probs = p.get("tag_probs") or []
        records.append(
            {
                "gold": g["tags"],
                "entities": entities(Item(g["tokens"]), p["tags"], model.scheme, probs),
                "score": sentence_score(probs, p["tags"]),
                "mean": sentence_score(probs),
            }
        )
    res = analyse(records)
    res.update(model=args.model, test=args.test, seconds=round(time.perf_counter() - t, 1))
    print(f"{args.test}: {res['sentences']:,} sentences, {res['entities_predicted']:,} predicted entities, ", end="")
    print(f"entity F1 {100 * res['entity_f1']:.1f}, precision {100 * res['precision']:.1f}")
    print("| decile | entity score | spans | precision |")
    print("|---|---|---|---|")
    for i, (lo, hi, n, prec) in enumerate(res["deciles"], 1):
        print(f"| {i} | {lo:.3f}–{hi:.3f} | {n:,} | {100 * prec:.1f} |")
    print(
        f"Spearman rho (sentence score, sentence entity F1) over {res['sentences_scored']:,} sentences "
        f"with a gold or predicted entity: {res['spearman_sentence_score_f1']:.3f} "
        f"(plain mean of all tags: {res['spearman_plain_mean_f1']:.3f})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
