"""The gap to the physical limit (issue 22): FLOPs per token, measured rate, hardware peak.

    python bench/bench_limits.py            # gold CoNLL en,es,nl -> de (bench/gold.py --quick data)

For training (one MAN-MoE iteration of Algorithm 1, the paper's NER configuration, built as
``bench/bench_step.py`` builds it) and for prediction (``Model.predict_batch`` of a trained
gold-CoNLL model on es test), it counts the floating-point operations PyTorch's own
``torch.utils.flop_counter.FlopCounterMode`` attributes to matrix products and convolutions
(2 FLOPs per multiply-add; elementwise ops such as sigmoid/tanh are not counted, so the FLOPs
are a lower bound of the work), times the same work, and prints

- FLOPs per (labeled) token, measured tokens/s, achieved GFLOP/s,
- this CPU's measured fp32 matrix-product peak (a 2,048² ``torch.mm``, 1 and 2 threads) and
  its nominal peak (cores × clock × 32 fp32 FLOPs/cycle for AVX2 with two FMA units),
- the fraction of each peak the workload reaches.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mltl.runtime import configure_threads  # noqa: E402

configure_threads()


def cpu_clock_ghz() -> float | None:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) / 1000
    except OSError:
        pass
    return None


def mm_peak(threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        fn()
    return int(fc.get_total_flops())


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    gold = ROOT / "bench" / "work" / "gold-quick"
    ap.add_argument("--data", type=Path, default=gold / "data" / "conll")
    ap.add_argument("--vectors", type=Path, default=gold / "aligned")
    ap.add_argument("--model", type=Path, default=ROOT / "bench/work/lc/conll-es-MAN-MoE-new/model-best")
    ap.add_argument("--test", type=Path, default=gold / "data" / "conll" / "es" / "test.jsonl")
    ap.add_argument("--lang", default="es")
    ap.add_argument("--threads", type=int, default=2, help="threads for prediction (training: 1, as the suite)")
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()

    cores = len(os.sched_getaffinity(0))
    ghz = cpu_clock_ghz()
    peak1, peak2 = mm_peak(1), mm_peak(min(2, cores))
    nominal = cores * ghz * 32 if ghz else None

    # ---------------------------------------------------------------- training
    from bench_step import build_trainer

    from mltl.training.trainer import _zero_stats

    targs = argparse.Namespace(
        data=a.data,
        vectors=a.vectors,
        sources="en,es,nl",
        target="de",
        arch="man_moe",
        batch=16,
        threads=1,
        set=[],
    )
    tr = build_trainer(targs)
    torch.set_num_threads(1)
    tr.net.train()
    stats = _zero_stats()
    for _ in range(3):
        tr.iteration(stats)
    train_flops, train_tokens = 0, 0
    for _ in range(3):
        before = stats["tokens"]
        train_flops += count_flops(lambda: tr.iteration(stats))
        train_tokens += stats["tokens"] - before
    stats = _zero_stats()
    t = time.perf_counter()
    for _ in range(a.steps):
        tr.iteration(stats)
    train_s = time.perf_counter() - t
    train_rate = stats["tokens"] / train_s
    train_fpt = train_flops / train_tokens

    # ---------------------------------------------------------------- prediction
    from mltl.models.model import load_model

    torch.set_num_threads(a.threads)
    m = load_model(a.model, device="cpu")
    sents = [json.loads(x)["tokens"] for x in open(a.test, encoding="utf-8")]
    n_tok = sum(map(len, sents))
    m.predict_batch(a.lang, sents[:256])
    pred_flops = count_flops(lambda: m.predict_batch(a.lang, sents, batch_size=256))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        m.predict_batch(a.lang, sents, batch_size=256)
        best = min(best, time.perf_counter() - t)
    pred_rate = n_tok / best
    pred_fpt = pred_flops / n_tok

    rows = [
        ("train, CPU, 1 thread (per labeled token)", train_fpt, train_rate, peak1, ghz * 32 if ghz else None),
        (f"predict, CPU, {a.threads} threads", pred_fpt, pred_rate, peak2 if a.threads > 1 else peak1, nominal),
    ]
    print(
        f"CPU: {cores} cores at {ghz:.2f} GHz; fp32 mm peak measured {peak1:.1f} GFLOP/s (1 thread), "
        f"{peak2:.1f} (2 threads); nominal {nominal:.0f} GFLOP/s ({cores} cores)\n"
        if ghz
        else ""
    )
    print(
        "| workload | MFLOP / token | measured tok/s | achieved GFLOP/s | % of measured mm peak | % of nominal peak |"
    )
    print("|---|---|---|---|---|---|")
    for name, fpt, rate, peak, nom in rows:
        g = fpt * rate / 1e9
        nom_s = f"{100 * g / nom:.1f} %" if nom else "?"
        print(f"| {name} | {fpt / 1e6:.2f} | {rate:,.0f} | {g:.2f} | {100 * g / peak:.1f} % | {nom_s} |")


if __name__ == "__main__":
    main()
