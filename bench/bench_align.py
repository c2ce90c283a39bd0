"""Alignment benchmarks: S3 (speed/memory) and Q2 (BLI quality on real data).

    python bench/bench_align.py speed [--n 200000] [--dim 300] [--repeat 3]
        S3: align two n x dim sets (supervised + refinement, and unsupervised),
        BLI with 1,500 queries against n targets; seconds and peak RSS, each in a
        fresh process so peaks do not mix. The two sets are real-looking vectors
        (a random low-rank + noise model, most frequent first) and a rotated,
        noisy copy; the dictionary is 5,000 true pairs.

    python bench/bench_align.py quality --work /tmp/mltl-q2 [--langs de,es] [--dim 300]
        Q2: `mltl embed` on Debian man pages (en, de, es, ...), freedict test and
        train dictionaries, `mltl align` with supervised / identical /
        unsupervised, BLI P@1 (NN, CSLS) per method and pair; prints a Markdown table.

Results go to stdout as JSON lines and a Markdown table; progress to stderr.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------- S3


def _make_pair(n: int, dim: int, seed: int = 0):
    import numpy as np

    from mltl.embeddings import Vectors
    from mltl.embeddings.mapping import random_rotation

    rng = np.random.default_rng(seed)
    # Embedding-like spectrum: a few strong directions plus isotropic noise.
    rank = 64
    basis = rng.standard_normal((rank, dim)).astype(np.float32) * np.linspace(3, 0.5, rank, dtype=np.float32)[:, None]
    X = np.empty((n, dim), dtype=np.float32)
    Z = np.empty((n, dim), dtype=np.float32)
    R = random_rotation(dim, seed + 1)
    for s in range(0, n, 20000):
        m = min(20000, n - s)
        block = rng.standard_normal((m, rank)).astype(np.float32) @ basis + rng.standard_normal((m, dim)).astype(
            np.float32
        )
        X[s : s + m] = block
        Z[s : s + m] = block @ R + 0.3 * rng.standard_normal((m, dim)).astype(np.float32)
    words = [f"w{i}" for i in range(n)]
    return Vectors(words, X), Vectors([f"t{i}" for i in range(n)], Z)


def _speed_one(task: str, n: int, dim: int) -> dict:
    """One measurement in this (fresh) process."""
    import numpy as np
    import torch

    from mltl.embeddings.align import AlignConfig, align
    from mltl.embeddings.bli import evaluate_bli

    torch.set_num_threads(int(os.environ.get("MLTL_BENCH_THREADS", "2")))
    src, tgt = _make_pair(n, dim)
    base_rss = peak_rss_mb()
    t0 = time.perf_counter()
    if task == "bli":
        # Same space on both sides (undo the rotation): BLI measures retrieval only.
        from mltl.embeddings.mapping import random_rotation

        tgt = tgt.with_matrix(np.asarray(tgt.matrix) @ random_rotation(dim, 1).T)
        pairs = [(f"w{i}", f"t{i}") for i in range(0, 30000, 20)]  # 1,500 queries
        res = evaluate_bli(src, tgt, pairs)
        out = {"p@1_nn": res["nn"]["p@1"], "p@1_csls": res["csls"]["p@1"], "queries": res["queries"]}
    else:
        dicts = {"xx": [(f"w{i}", f"t{i}") for i in range(5000)]} if task == "supervised" else None
        mapped, rep = align({"en": tgt, "xx": src}, hub="en", method=task, dicts=dicts, config=AlignConfig())
        p = rep["pairs"][0]
        acc = float(
            np.mean(np.argmax(mapped["xx"].matrix[:2000] @ mapped["en"].matrix[:50000].T, axis=1) == np.arange(2000))
        )
        out = {"iterations": p["iterations"], "final_pairs": p["dictionary_sizes"][-1], "top1_recovered": round(acc, 4)}
    out.update(
        task=task,
        n=n,
        dim=dim,
        seconds=round(time.perf_counter() - t0, 2),
        peak_rss_mb=round(peak_rss_mb()),
        input_rss_mb=round(base_rss),
    )
    return out


def cmd_speed(args) -> None:
    rows = []
    for task in args.tasks.split(","):
        runs = []
        for r in range(args.repeat):
            proc = subprocess.run(
                [sys.executable, __file__, "_speed_one", task, str(args.n), str(args.dim)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            print(json.dumps(res), flush=True)
            runs.append(res)
        rows.append(
            {
                "task": task,
                "median_s": statistics.median(r["seconds"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "runs": len(runs),
                **{k: runs[-1][k] for k in runs[-1] if k not in ("task", "seconds", "peak_rss_mb")},
            }
        )
    print(f"\n| task | n x dim | median s ({args.repeat} runs) | peak RSS MB | detail |\n|---|---|---|---|---|")
    for r in rows:
        detail = ", ".join(
            f"{k}={v}" for k, v in r.items() if k not in ("task", "median_s", "peak_rss_mb", "runs", "n", "dim")
        )
        print(f"| {r['task']} | {args.n} x {args.dim} | {r['median_s']:.1f} | {r['peak_rss_mb']} | {detail} |")


# ----------------------------------------------------------------------- Q2

FREEDICT = {
    "de": ("freedict-deu-eng", False),
    "es": ("freedict-eng-spa", True),
    "nl": ("freedict-eng-nld", True),
    "fr": ("freedict-eng-fra", True),
}


def _man_files(lang: str, max_files: int, seed: int = 0) -> list[str]:
    root = "/usr/share/man" if lang == "en" else f"/usr/share/man/{lang}"
    files = sorted(glob.glob(f"{root}/man[1-8]/*.gz"))
    random.Random(seed).shuffle(files)
    return files[:max_files]


def _run(cmd: list[str]) -> str:
    print("+ " + " ".join(cmd[:12]) + (" ..." if len(cmd) > 12 else ""), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def cmd_quality(args) -> None:
    work = Path(args.work)
    (work / "vectors").mkdir(parents=True, exist_ok=True)
    mltl = [sys.executable, "-m", "mltl"]
    langs = args.langs.split(",")
    for lang in ["en"] + langs:
        out = work / "vectors" / lang
        if not Path(str(out) + ".vec").exists():
            files = _man_files(lang, args.en_files if lang == "en" else 100000)
            _run(
                mltl
                + [
                    "embed",
                    "--lang",
                    lang,
                    "--format",
                    "roff",
                    "--lowercase",
                    "--dim",
                    str(args.dim),
                    "--min-count",
                    "3",
                    "--bucket",
                    "200000",
                    "-o",
                    str(out),
                    "--json",
                ]
                + files
            )
    dicts = work / "dicts"
    for lang in langs:
        name, invert = FREEDICT[lang]
        if not (dicts / f"{lang}-en.test.txt").exists():
            cmd = [
                sys.executable,
                "-m",
                "mltl.embeddings.freedict",
                f"/usr/share/dictd/{name}.index",
                "-o",
                str(dicts),
                "--lowercase",
                "--test",
                "1500",
                "--train",
                "5000",
                "--src-vectors",
                str(work / "vectors" / f"{lang}.vec"),
                "--tgt-vectors",
                str(work / "vectors" / "en.vec"),
                "--max-vocab",
                str(args.max_vocab),
            ]
            _run(cmd + (["--invert"] if invert else []))
    rows = []
    for method in args.methods.split(","):
        out = work / f"aligned-{method}"
        cmd = (
            mltl
            + ["align", "--hub", "en", str(work / "vectors" / "en.vec")]
            + [str(work / "vectors" / f"{lang}.vec") for lang in langs]
            + [
                "--method",
                method,
                "--eval-dict",
                str(dicts),
                "--max-vocab",
                str(args.max_vocab),
                "-o",
                str(out),
                "--force",
                "--json",
            ]
        )
        if method == "supervised":
            cmd += ["--dict", str(dicts)]
        rep = json.loads(_run(cmd))
        for p in rep["pairs"]:
            b = rep["bli"][p["src"]]
            rows.append(
                {
                    "pair": f"{p['src']}-en",
                    "method": method,
                    "nn_p1": b["nn"]["p@1"],
                    "csls_p1": b["csls"]["p@1"],
                    "csls_p10": b["csls"]["p@10"],
                    "queries": b["queries"],
                    "seconds": p["seconds"],
                    "iterations": p["iterations"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print("\n| pair | method | P@1 NN | P@1 CSLS | P@10 CSLS | queries | align s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['pair']} | {r['method']} | {r['nn_p1']:.1f} | {r['csls_p1']:.1f} | {r['csls_p10']:.1f} "
            f"| {r['queries']} | {r['seconds']:.0f} |"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_speed_one":
        print(json.dumps(_speed_one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--n", type=int, default=200000)
    s.add_argument("--dim", type=int, default=300)
    s.add_argument("--repeat", type=int, default=3)
    s.add_argument("--tasks", default="supervised,unsupervised,bli")
    q = sub.add_parser("quality")
    q.add_argument("--work", default="/tmp/mltl-q2")
    q.add_argument("--langs", default="de,es")
    q.add_argument("--dim", type=int, default=300)
    q.add_argument("--en-files", type=int, default=1500, help="English man pages to embed (random sample)")
    q.add_argument("--max-vocab", type=int, default=200000)
    q.add_argument("--methods", default="supervised,identical,unsupervised")
    args = ap.parse_args()
    {"speed": cmd_speed, "quality": cmd_quality}[args.cmd](args)


if __name__ == "__main__":
    main()
