"""S5: speed on a shared machine — train, predict, align and embed, idle and with
1 or 2 competing CPU-bound processes, under several thread settings, side by side.

    python bench/bench_load.py                        # all workloads, variants, loads 0,1,2, 3 reps
    python bench/bench_load.py --what train --reps 1  # a quick probe
    python bench/bench_load.py --json                 # one JSON object per measurement

Everything runs through the real CLI on the shipped example data (examples/data): the
bench prepares, embeds and aligns it once into --work (not timed), then times each
workload. A *competitor* is a single-threaded CPU-bound process (a Python busy loop)
started by the bench before the measured command and killed after it, so "+2" means the
measured command shares the cores with two processes that never sleep.

Variants (the measured command's environment; everything else is mltl's defaults):

- ``mltl``: nothing set — what a user who passes nothing gets.
- ``spin``: ``GOMP_SPINCOUNT=300000`` — libgomp's own spin count when no wait policy is
  set, i.e. PyTorch's behaviour before mltl chose a policy (OMP threads busy-wait ~0.1 ms
  at every barrier).
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` — threads sleep at once.
- ``1thread``: ``--threads 1`` / ``OMP_NUM_THREADS=1``.

The rate of a run is labeled tokens/s from train_log.jsonl for ``train`` (evaluation
excluded), and input tokens / wall second (start-up included) for the others. The
table prints each loaded rate as a fraction of the same variant's idle rate, beside the
goal of issue 16: at least a fair share, 1/(1 + competitors).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLTL = [sys.executable, "-m", "mltl"]
EX = ROOT / "examples" / "data"
LANGS = ["en", "de", "es", "nl"]

VARIANTS = {
    "mltl": ({}, []),
    "spin": ({"GOMP_SPINCOUNT": "300000"}, []),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, []),
    "1thread": ({"OMP_NUM_THREADS": "1"}, ["--threads", "1"]),
}
# Variables that decide threading: cleared so the caller's shell does not leak into a variant.
THREAD_VARS = (
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MLTL_THREADS",
)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sh(cmd: list, env: dict | None = None) -> None:
    r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr[-2000:]}")


def setup(work: Path) -> None:
    """Datasets, vectors, aligned vectors and a trained tagger from examples/data (not timed)."""
    if (work / "ready").exists():
        return
    work.mkdir(parents=True, exist_ok=True)
    say(f"setting up {work} from {EX} (prepare, embed, align, a 40-step tagger) …")
    for lang in LANGS:
        sh(
            MLTL
            + [
                "-q",
                "prepare",
                "--task",
                "tagging",
                "--lang",
                lang,
                "--force",
                *[EX / "ner" / lang / f"{s}.txt" for s in ("train", "dev", "test")],
                "--unlabeled-text",
                EX / "unlabeled" / f"{lang}.txt",
                "-o",
                work / "data" / lang,
            ]
        )
        sh(
            MLTL
            + [
                "-q",
                "embed",
                "--lang",
                lang,
                work / "data" / lang / "unlabeled.jsonl",
                work / "data" / lang / "train.jsonl",
                "--dim",
                "50",
                "--min-count",
                "1",
                "--epoch",
                "10",
                "-o",
                work / "vectors" / lang,
            ]
        )
    sh(
        MLTL
        + [
            "-q",
            "align",
            "--hub",
            "en",
            *[work / "vectors" / f"{l}.vec" for l in LANGS],
            "--method",
            "identical",
            "--force",
            "-o",
            work / "aligned",
        ]
    )
    sh(MLTL + ["-q", *train_args(work, 40), "-o", work / "model"])
    # Prediction input: the German unlabeled text, 4 times (≈ 10 s of work).
    text = (EX / "unlabeled" / "de.txt").read_text(encoding="utf-8")
    (work / "predict.txt").write_text(text * 4, encoding="utf-8")
    (work / "ready").write_text("ok\n")


def train_args(work: Path, steps: int) -> list:
    # The paper's NER configuration: batch 16 per language, CharCNN, k = 1.
    return [
        "train",
        "--task",
        "tagging",
        "--sources",
        "en,es,nl",
        "--target",
        "de",
        "--data",
        work / "data",
        "--vectors",
        work / "aligned",
        "--char-cnn",
        "--batch-size",
        "16",
        "--k",
        "1",
        "--max-steps",
        str(steps),
        "--steps-per-epoch",
        str(steps),
        "--patience",
        "0",
        "--checkpoint-every",
        "100000",
        "--seed",
        "1",
        "--force",
    ]


def workload(what: str, work: Path, steps: int, extra: list, tmp: Path) -> tuple[list, callable]:
    """(command, rate(seconds) -> tokens/s) of one measured run."""
    if what == "train":
        out = tmp / "train"

        def rate(_secs: float) -> float:
            logs = [json.loads(ln) for ln in open(out / "train_log.jsonl") if ln.strip()]
            return logs[-1]["tokens_per_s"]

        return MLTL + ["-q", *train_args(work, steps), *extra, "-o", out], rate
    if what == "predict":
        text = work / "predict.txt"
        ntok = sum(len(ln.split()) for ln in open(text, encoding="utf-8"))
        return (
            MLTL
            + [
                "-q",
                "predict",
                "--model",
                work / "model" / "model-best",
                text,
                "--lang",
                "de",
                "--format",
                "jsonl",
                "-o",
                tmp / "pred.jsonl",
            ],
            lambda secs: ntok / secs,
        )
    if what == "align":
        # unsupervised-free, identical-strings seed + refinement on the 4 example languages
        ntok = sum(int(open(work / "vectors" / f"{l}.vec", encoding="utf-8").readline().split()[0]) for l in LANGS)
        return (
            MLTL
            + [
                "-q",
                "align",
                "--hub",
                "en",
                *[work / "vectors" / f"{l}.vec" for l in LANGS],
                "--method",
                "identical",
                "--force",
                "-o",
                tmp / "aligned",
            ],
            lambda secs: ntok / secs,
        )  # words aligned per second
    if what == "embed":
        src = work / "data" / "de" / "unlabeled.jsonl"
        ntok = sum(len(json.loads(ln)["tokens"]) for ln in open(src, encoding="utf-8"))
        return (
            MLTL
            + [
                "-q",
                "embed",
                "--lang",
                "de",
                src,
                "--dim",
                "50",
                "--min-count",
                "1",
                "--epoch",
                "10",
                "-o",
                tmp / "vec" / "de",
            ],
            lambda secs: ntok * 10 / secs,
        )  # tokens × epochs per second
    raise SystemExit(f"unknown workload {what}")


def competitors(n: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(0.5)  # let them reach the run queue
    return procs


def measure(what: str, variant: str, load: int, work: Path, steps: int) -> dict:
    if variant.startswith("spin="):  # an ad-hoc spin count, for probing
        env_add, extra = {"GOMP_SPINCOUNT": variant[5:]}, []
    else:
        env_add, extra = VARIANTS[variant]
    if what not in ("train",):
        extra = []  # --threads is a train option; the others read OMP_NUM_THREADS
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(env_add)
    tmp = work / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    cmd, rate = workload(what, work, steps, extra, tmp)
    procs = competitors(load)
    try:
        t = time.perf_counter()
        r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
        secs = time.perf_counter() - t
    finally:
        for p in procs:
            p.kill()
            p.wait()
    if r.returncode:
        sys.exit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr[-2000:]}")
    return {"what": what, "variant": variant, "load": load, "seconds": round(secs, 2), "rate": round(rate(secs), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", default="train,predict,align,embed")
    ap.add_argument("--variants", default="mltl,spin,passive,1thread")
    ap.add_argument("--loads", default="0,1,2", help="numbers of competing CPU-bound processes")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30, help="training steps per train run")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "load")
    ap.add_argument("--json", action="store_true", help="print one JSON object per measurement")
    a = ap.parse_args()
    setup(a.work)
    whats, variants = a.what.split(","), a.variants.split(",")
    loads = [int(x) for x in a.loads.split(",")]
    rows = []
    for what in whats:
        for load in loads:
            # repetitions interleave the variants, so a drift of the machine hits all alike
            for rep in range(a.reps):
                for v in variants:
                    m = measure(what, v, load, a.work, a.steps)
                    m["rep"] = rep + 1
                    rows.append(m)
                    say(f"{what:8s} +{load} {v:8s} rep {rep + 1}: {m['rate']:,.0f}/s, {m['seconds']:.1f} s")
                    if a.json:
                        print(json.dumps(m), flush=True)
    if not a.json:
        print(table(rows, whats, variants, loads))


def table(rows: list[dict], whats: list[str], variants: list[str], loads: list[int]) -> str:
    med = {}
    for w, v, l in {(r["what"], r["variant"], r["load"]) for r in rows}:
        med[w, v, l] = statistics.median(r["rate"] for r in rows if (r["what"], r["variant"], r["load"]) == (w, v, l))
    head = "| workload | variant | " + " | ".join(f"+{l}" for l in loads) + " |"
    out = [head, "|" + "---|" * (2 + len(loads))]
    for w in whats:
        for v in variants:
            idle = med.get((w, v, 0))
            cells = []
            for l in loads:
                x = med.get((w, v, l))
                if x is None:
                    cells.append("–")
                elif l == 0 or not idle:
                    cells.append(f"{x:,.0f}")
                else:
                    cells.append(f"{x:,.0f} ({x / idle:.2f} of idle; goal ≥ {1 / (1 + l):.2f})")
            out.append(f"| {w} | {v} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
