"""How much of MARC's transfer is word-level? (issue 17: MARC, "not met")

On MARC every system with a BiLSTM (MAN-MoE, MAN, −MAN, BWE multi-source) lands within
about a point of the others, and BWE multi-source leads. Our reading was that with these
vectors only word-level polarity transfers. This probe measures that directly: a review is
the mean of its words' aligned vectors (no order, no context, nothing trained on the words)
and a logistic regression is fitted on the source languages' training reviews — the
"BWE multi-source" protocol with the BiLSTM taken out — and, likewise, on English alone
("1-to-1"). The regularisation C is picked by mean *source* dev accuracy only; the target's
labels are read only to score its test set.

    python bench/probe_marc_bov.py [--work bench/work/gold-full] [--vectors DIR]

It reads what ``bench/gold.py`` left in ``--work``: the datasets ``mltl prepare`` wrote
(``data/marc/<lang>/{train,dev,test}.jsonl``) and the aligned vectors the MARC runs train
on (the ``vectors`` of their config.json). Nothing is written. Deterministic (lbfgs).
scikit-learn comes with seqeval (the ``test`` extra).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mltl.data.jsonl import read_jsonl
from mltl.embeddings.vectors import load_vectors

SOURCES = ["en", "de", "fr", "ja"]  # the paper's four Amazon languages
TARGETS = ["de", "fr", "ja", "es", "zh"]
GRID = [0.01, 0.1, 1.0, 10.0, 100.0]


def read_split(path: Path) -> tuple[list[list[str]], np.ndarray]:
    """Lowercased tokens and positive/negative labels of one prepared split."""
    docs, labels = [], []
    for _, rec in read_jsonl(path):
        docs.append([t.lower() for t in rec["tokens"]])
        labels.append(rec["label"] == "positive")
    return docs, np.asarray(labels)


def mean_vectors(docs: list[list[str]], vectors) -> np.ndarray:
    """A review as the mean of its in-vocabulary words' vectors (zeros when none is)."""
    index = vectors.index  # built once per Vectors and cached there
    out = np.zeros((len(docs), vectors.dim), dtype=np.float32)
    for r, doc in enumerate(docs):
        rows = [index[t] for t in doc if t in index]
        if rows:
            out[r] = np.asarray(vectors.matrix[rows], dtype=np.float32).mean(0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("bench/work/gold-full"))
    ap.add_argument("--vectors", type=Path, default=None, help="aligned vectors dir (default: the one under --work)")
    args = ap.parse_args(argv)
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("error: scikit-learn is missing (pip install -e '.[test]' brings it with seqeval)", file=sys.stderr)
        return 2
    vec_dir = args.vectors
    if vec_dir is None:
        found = sorted(args.work.glob("vec/*/aligned"))
        if not found:
            print(f"error: no aligned vectors under {args.work}/vec; run bench/gold.py first", file=sys.stderr)
            return 2
        vec_dir = found[0]
    data_dir = args.work / "data" / "marc"
    langs = sorted(set(SOURCES) | set(TARGETS))
    needed = [data_dir / lang / f"{s}.jsonl" for lang in langs for s in ("train", "dev", "test")]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        print(f"error: {missing[0]} is missing; run bench/gold.py --tables marc first", file=sys.stderr)
        return 2
    feats: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for lang in langs:
        splits = {s: read_split(data_dir / lang / f"{s}.jsonl") for s in ("train", "dev", "test")}
        words = {t for docs, _ in splits.values() for doc in docs for t in doc}
        vectors = load_vectors(vec_dir / f"{lang}.vec", keep=words)  # every word of the data the file has
        for s, (docs, y) in splits.items():
            feats[(lang, s)] = (mean_vectors(docs, vectors), y)
        cover = np.mean([any(t in vectors for t in d) for d in splits["test"][0]])
        print(f"{lang}: {len(vectors)} of {len(words)} data words have a vector; test reviews with one: {cover:.1%}")
    print(f"vectors: {vec_dir}\n")
    print("| target | system | C (by source dev) | source dev | target test |\n|---|---|---|---|---|")
    for tgt in TARGETS:
        multi = [s for s in SOURCES if s != tgt]
        systems = (("bag of vectors, multi-source", multi), ("bag of vectors, 1-to-1 (en)", ["en"]))
        for name, srcs in systems:
            X = np.vstack([feats[(s, "train")][0] for s in srcs])
            y = np.concatenate([feats[(s, "train")][1] for s in srcs])
            fits = []
            for c in GRID:
                model = LogisticRegression(C=c, max_iter=5000).fit(X, y)
                fits.append((float(np.mean([model.score(*feats[(s, "dev")]) for s in srcs])), c, model))
            dev, c, model = max(fits, key=lambda f: f[0])  # the first of equal devs: the smaller C
            test = model.score(*feats[(tgt, "test")])
            print(f"| → {tgt} | {name} | {c:g} | {100 * dev:.1f} | {100 * test:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
