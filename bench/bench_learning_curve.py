"""Issue 19: how much do a few labeled target sentences buy, and does `mltl select --strategy
uncertainty` buy it with fewer? The labeling loop simulated on gold CoNLL, through the CLI.

    python bench/bench_learning_curve.py --target es --zero bench/work/lc/conll-es-MAN-MoE-new \
        --pool bench/work/gold-quick/data/conll/es/train.jsonl --sizes 0,50,100,200,500 --steps 300

For each strategy (random, uncertainty) and size N: `mltl select` picks N sentences of the
target pool with the zero-resource model (one round, so the picks of a size contain those of every
smaller size), the gold tags stand in for the people's corrections, and `mltl train --init-model
ZERO/model-best --target-train PICKED` fine-tunes the zero-resource model for --steps steps with
the zero-resource run's settings (one evaluation, at the end). Size 0 is the same fine-tuning
without target labels (the zero-resource baseline at the same step budget). Reported: target
*test* entity F1 (the run's own target test set; never used for selection or training).
Runs go two at a time (--jobs), one thread each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def mltl(*args: str) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "mltl", "-q", *args], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"mltl {' '.join(args)}\n{p.stderr}")
    return p


def pick(zero: Path, pool: Path, target: str, n: int, strategy: str, seed: int, out: Path) -> None:
    """The N sentences `mltl select` chooses, with their gold tags, as a target-train file."""
    if out.is_file():
        return
    sel = mltl(
        "select", str(pool), "--model", str(zero / "model-best"), "--lang", target, "-n", str(n),
        "--strategy", strategy, "--seed", str(seed), "--format", "jsonl",
    )  # fmt: skip
    rows = [json.loads(x) for x in sel.stdout.splitlines()]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(
        "".join(json.dumps({"tokens": r["tokens"], "tags": r["gold"]}, ensure_ascii=False) + "\n" for r in rows),
        encoding="utf-8",
    )
    tmp.replace(out)


def run(zero: Path, target: str, labeled: Path | None, steps: int, seed: int, out: Path) -> dict:
    if not (out / "metrics.json").is_file():
        args = [
            "train", "--config", str(zero / "config.json"), "--init-model", str(zero / "model-best"),
            "--max-steps", str(steps), "--steps-per-epoch", str(steps), "--max-epochs", "1",
            "--threads", "1", "--seed", str(seed), "--force", "-o", str(out),
        ]  # fmt: skip
        if labeled is not None:
            args += ["--target-train", str(labeled)]
        t = time.perf_counter()
        mltl(*args)
        (out / "seconds").write_text(f"{time.perf_counter() - t:.0f}\n")
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"test": m["target_eval"]["test"], "source_dev": m["best_score"], "target_train": m["target_train"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", required=True)
    ap.add_argument(
        "--zero", required=True, type=Path, help="the zero-resource run directory (config.json, model-best)"
    )
    ap.add_argument("--pool", required=True, type=Path, help="target sentences with gold tags (a dataset split)")
    ap.add_argument("--sizes", default="0,50,100,200,500")
    ap.add_argument("--strategies", default="random,uncertainty")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("bench/work/curve"))
    args = ap.parse_args()
    import os

    os.environ["OMP_NUM_THREADS"] = "1"
    sizes = [int(x) for x in args.sizes.split(",")]
    strategies = args.strategies.split(",")
    seeds = [int(x) for x in args.seeds.split(",")]
    base = args.work / args.target
    jobs = []
    for seed in seeds:
        if 0 in sizes:
            jobs.append(("none", 0, seed, None))
        for strategy in strategies:
            for n in (s for s in sizes if s > 0):
                f = base / "picks" / f"{strategy}-{n}-seed{seed}.jsonl"
                pick(args.zero, args.pool, args.target, n, strategy, seed, f)
                jobs.append((strategy, n, seed, f))

    def one(job):
        strategy, n, seed, f = job
        return job, run(args.zero, args.target, f, args.steps, seed, base / "runs" / f"{strategy}-{n}-seed{seed}")

    with ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(one, jobs))
    table: dict[tuple[str, int], list[float]] = {}
    for (strategy, n, _seed, _f), r in results:
        table.setdefault((strategy, n), []).append(100 * r["test"])
    print(f"target {args.target}: test entity F1 after {args.steps} fine-tuning steps from {args.zero}/model-best")
    print("| target sentences | " + " | ".join(str(n) for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for strategy in strategies:
        cells = []
        for n in sizes:
            v = table.get(("none", 0) if n == 0 else (strategy, n), [])
            cells.append(f"{sum(v) / len(v):.1f}" + (f" ± {_std(v):.1f}" if len(v) > 1 else "") if v else "–")
        print(f"| {strategy} | " + " | ".join(cells) + " |")
    (base / "results.json").write_text(
        json.dumps([{"strategy": j[0], "n": j[1], "seed": j[2], **r} for j, r in results], indent=1) + "\n"
    )


def _std(v: list[float]) -> float:
    m = sum(v) / len(v)
    return (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5


if __name__ == "__main__":
    main()
