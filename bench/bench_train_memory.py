"""S1 memory: peak RSS of `mltl train` with 5 languages × 200k-word vectors.

    python bench/bench_train_memory.py --data bench/work/quick/data-tag --langs en,es,fr,nl,de

Writes, per language, a 200k × 300 float32 vector set in mltl's compact `.npy` form
(every word of the prepared data first, then filler words up to --vocab; random values:
memory, not quality, is measured), trains the paper's NER configuration for a few
steps on the real prepared data, and prints the child's peak RSS beside the size of
the vector files. The goal is < 4 GB: a run loads only the rows it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def data_words(lang_dir: Path) -> list[str]:
    seen: dict[str, None] = {}
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl", "unlabeled.jsonl"):
        p = lang_dir / name
        if p.exists():
            with open(p, encoding="utf-8") as f:
                for line in f:
                    for w in json.loads(line).get("tokens", []):
                        for form in (w, w.lower()):
                            if form and not any(c.isspace() for c in form):  # a .vec word has no whitespace
                                seen.setdefault(form)
    return list(seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="prepare's output, one folder per language")
    ap.add_argument("--langs", default="en,es,fr,nl,de", help="the last one is the target")
    ap.add_argument("--vocab", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from mltl.embeddings.vectors import Vectors, save_vectors

    langs = a.langs.split(",")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        vec_dir = Path(tmp) / "vectors"
        vec_dir.mkdir()
        size = 0
        for lang in langs:
            words = data_words(a.data / lang)[: a.vocab]
            words += [f"filler{i}" for i in range(a.vocab - len(words))]
            m = rng.standard_normal((a.vocab, a.dim), dtype=np.float32)
            path = save_vectors(Vectors(words, m), vec_dir / f"{lang}.npy", format="npy")
            size += path.stat().st_size
            del m
        out = Path(tmp) / "model"
        cmd = [
            sys.executable,
            "-m",
            "mltl",
            "-q",
            "train",
            "--task",
            "tagging",
            "--sources",
            ",".join(langs[:-1]),
            "--target",
            langs[-1],
            "--data",
            str(a.data),
            "--vectors",
            str(vec_dir),
            "--char-cnn",
            "--batch-size",
            "16",
            "--k",
            "1",
            "--max-steps",
            str(a.steps),
            "--steps-per-epoch",
            str(a.steps),
            "--patience",
            "0",
            "--threads",
            str(a.threads),
            "--seed",
            "1",
            "-o",
            str(out),
        ]
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status):
            sys.exit(err.decode("utf-8", "replace"))
        model_mb = sum(f.stat().st_size for f in (out / "model-best").rglob("*") if f.is_file()) / 1e6
        print(
            f"| {len(langs)} languages × {a.vocab:,} × {a.dim} float32 ({size / 1e9:.2f} GB of vectors) | "
            f"{a.steps} steps in {time.perf_counter() - t:.1f} s | peak RSS {usage.ru_maxrss / 1024:,.0f} MB | "
            f"model dir {model_mb:,.0f} MB |"
        )


if __name__ == "__main__":
    main()
