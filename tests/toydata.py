"""A tiny synthetic multilingual world for tests, demos and benchmarks.

Every language names the same concepts with its own made-up words; their
vectors are the concept's vector plus a little noise, i.e. already aligned in
one space. Tags/labels depend on concepts, so what is learned on the sources
transfers to the target through the shared space — in seconds, on a CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ENTITY_TYPES = ("PER", "LOC", "ORG")


def _word(lang: str, c: int, rng: np.random.Generator) -> str:
    syll = ["ka", "lo", "mi", "ne", "ru", "ta", "zo", "pe", "si", "du", "fa", "gu"]
    # the language code as prefix: a character-level cue of the language (for gates and D)
    return lang + "".join(rng.choice(syll) for _ in range(2)) + str(c)


def make_toy_data(
    root: str | Path,
    langs: list[str],
    *,
    task: str = "tagging",
    n_train: int = 200,
    n_dev: int = 60,
    n_unlabeled: int = 200,
    dim: int = 16,
    n_concepts: int = 60,
    seed: int = 0,
    noise: float = 0.05,
    unlabeled_only: tuple[str, ...] = (),
) -> tuple[Path, Path]:
    """Write ``root/data/<lang>/*.jsonl`` + ``meta.json`` and ``root/vectors/<lang>.vec``.

    Returns (data dir, vectors dir). ``unlabeled_only`` languages get only
    ``unlabeled.jsonl`` (and dev/test for reporting), like a zero-resource target.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    concepts = rng.normal(size=(n_concepts, dim)).astype(np.float32)
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    n_ent = 3 * len(ENTITY_TYPES)  # concepts 0..8 are entities (3 per type)
    ctype = {c: ENTITY_TYPES[c // 3] for c in range(n_ent)}
    pos, neg = set(range(n_ent, n_ent + 8)), set(range(n_ent + 8, n_ent + 16))
    data_dir, vec_dir = root / "data", root / "vectors"
    vec_dir.mkdir(parents=True, exist_ok=True)
    for li, lang in enumerate(langs):
        lrng = np.random.default_rng([seed, li])
        words = [_word(lang, c, lrng) for c in range(n_concepts)]
        vecs = concepts + noise * lrng.normal(size=concepts.shape).astype(np.float32)
        # a few language-specific extra words (frequent, first in the file)
        with open(vec_dir / f"{lang}.vec", "w", encoding="utf-8") as f:
            f.write(f"{n_concepts} {dim}\n")
            for w, v in zip(words, vecs):
                f.write(w + " " + " ".join(f"{x:.5f}" for x in v) + "\n")

        def sentence() -> tuple[list[str], list[str], str]:
            n = int(lrng.integers(4, 11))
            toks, tags = [], []
            while len(toks) < n:
                c = int(lrng.integers(0, n_concepts))
                if c < n_ent:
                    t = ctype[c]
                    toks.append(words[c])
                    tags.append(f"B-{t}")
                    if lrng.random() < 0.5:  # two-token entity: same type continues
                        c2 = 3 * ENTITY_TYPES.index(t) + int(lrng.integers(0, 3))
                        toks.append(words[c2])
                        tags.append(f"I-{t}")
                else:
                    toks.append(words[c])
                    tags.append("O")
            score = sum((words.index(w) in pos) - (words.index(w) in neg) for w in toks)
            label = "pos" if score > 0 else "neg" if score < 0 else ("pos" if lrng.random() < 0.5 else "neg")
            return toks, tags, label

        d = data_dir / lang
        d.mkdir(parents=True, exist_ok=True)
        splits = (
            {"dev": n_dev, "test": n_dev} if lang in unlabeled_only else {"train": n_train, "dev": n_dev, "test": n_dev}
        )
        for split, n in splits.items():
            with open(d / f"{split}.jsonl", "w", encoding="utf-8") as f:
                for _ in range(n):
                    toks, tags, label = sentence()
                    rec = (
                        {"tokens": toks, "tags": tags}
                        if task == "tagging"
                        else {"text": " ".join(toks), "tokens": toks, "label": label}
                    )
                    f.write(json.dumps(rec) + "\n")
        with open(d / "unlabeled.jsonl", "w", encoding="utf-8") as f:
            for _ in range(n_unlabeled):
                f.write(json.dumps({"tokens": sentence()[0]}) + "\n")
        labels = (["O"] + [f"{p}-{t}" for t in ENTITY_TYPES for p in "BI"]) if task == "tagging" else ["neg", "pos"]
        (d / "meta.json").write_text(
            json.dumps(
                {"language": lang, "task": task, "scheme": "bio" if task == "tagging" else None, "labels": labels}
            )
            + "\n",
            encoding="utf-8",
        )
    return data_dir, vec_dir
