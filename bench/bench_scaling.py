"""Training throughput on 1 and N processes under torchrun (issue 21), through the real CLI.

    python bench/bench_scaling.py                       # gold CoNLL en,es,nl -> de when prepared
    python bench/bench_scaling.py --ranks 1,2 --steps 60 --data D --vectors V --sources en,es,nl --target de

Runs the same `mltl train` (the gold suite's NER configuration: CharCNN, k = 1, batch 16
per language and rank, lowercased words) as

- one process with 1 thread, and with as many threads as ranks (what a one-process user runs),
- ``torchrun --nproc-per-node N`` with 1 thread per rank, for every N in ``--ranks``,

and prints labeled tokens/s of all ranks together over the training steps (the trainer's
``tokens_per_s``, evaluation excluded), seconds per step, and scaling efficiency =
tok/s(N ranks) / (N × tok/s(1 process, 1 thread)). Each configuration trains ``--steps``
steps with one evaluation at the end; the first ``--steps`` are not discarded, so keep
``--steps`` ≥ 40 for steady numbers. Data: gold CoNLL from ``bench/gold.py`` when it has
been prepared (bench/work/gold-quick), else give --data/--vectors.
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

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "bench" / "work" / "gold-quick"


def run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=GOLD / "data" / "conll")
    ap.add_argument("--vectors", type=Path, default=GOLD / "aligned")
    ap.add_argument("--sources", default="en,es,nl")
    ap.add_argument("--target", default="de")
    ap.add_argument("--ranks", default="2", help="torchrun process counts to measure, e.g. 2 or 2,4")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not (a.data / a.target).is_dir():
        sys.exit(f"{a.data}: no prepared data; run `python bench/gold.py --quick` first or give --data/--vectors")
    langs = sorted(set(a.sources.split(",")) | {a.target})
    base = [
        "train",
        "--task",
        "tagging",
        "--sources",
        a.sources,
        "--target",
        a.target,
        "--data",
        str(a.data),
        "--vectors",
        str(a.vectors),
        "--batch-size",
        "16",
        "--char-cnn",
        "--k",
        "1",
        "--lowercase",
        ",".join(langs),
        "--max-steps",
        str(a.steps),
        "--steps-per-epoch",
        str(a.steps),
        "--checkpoint-every",
        "100000",
        "--seed",
        "1",
        "--force",
        "-q",
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    rows = []
    configs = [("1 process, 1 thread", 1, 1)]
    ranks = [int(x) for x in a.ranks.split(",")]
    configs += [(f"1 process, {n} threads", 1, n) for n in ranks]
    configs += [(f"torchrun {n} ranks × 1 thread", n, 1) for n in ranks]
    with tempfile.TemporaryDirectory(prefix="mltl-scaling-") as tmp:
        for name, nproc, threads in configs:
            out = Path(tmp) / f"{nproc}x{threads}"
            e = dict(env, OMP_NUM_THREADS=str(threads))
            mltl = base + ["-o", str(out), "--threads", str(threads)]
            if nproc == 1:
                cmd = [sys.executable, "-m", "mltl", *mltl]
            else:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc)]
                cmd += ["-m", "mltl", *mltl]
            wall = run(cmd, e)
            rec = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
            train_s = rec["seconds"] - rec["eval_seconds"]
            rows.append(
                {
                    "config": name,
                    "processes": nproc,
                    "threads": threads,
                    "tokens_per_s": round(rec["tokens_per_s"]),
                    "s_per_step": round(train_s / a.steps, 3),
                    "wall_s": round(wall, 1),
                }
            )
            print(f"{name}: {rows[-1]}", file=sys.stderr)
    one = rows[0]["tokens_per_s"]
    for r in rows:
        r["efficiency"] = round(r["tokens_per_s"] / (one * r["processes"] * r["threads"]), 2)
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"\n{a.sources} -> {a.target}, {a.steps} steps, batch 16 per language and process\n")
    print("| configuration | labeled tok/s (all ranks) | s / step | wall s | efficiency |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['tokens_per_s']:,} | {r['s_per_step']} | {r['wall_s']} | {r['efficiency']} |")


if __name__ == "__main__":
    main()
