"""How much int8 could buy `mltl predict` on CPU (issue 22): a probe, not a feature.

    python bench/probe_int8.py --model bench/work/lc/conll-es-MAN-MoE-new/model-best \
        --test bench/work/gold-quick/data/conll/es/test.jsonl --lang es

1. Profiles fp32 prediction (torch.profiler, self CPU time per operator) and prints the share
   of the time in matrix products that dynamic int8 quantization can replace (``addmm`` =
   ``F.linear``: the BiLSTMs' input projections, the MoE experts, C) against what it cannot
   (the recurrences' per-step ``baddbmm``, the gates' sigmoid/tanh, concatenation, copies).
2. Runs the same prediction with every ``F.linear`` of the BiLSTM path swapped for PyTorch's
   maintained dynamic int8 kernel (``torch.ops.quantized.linear_dynamic``, fbgemm/x86,
   per-channel weights) and reports tokens/s and entity F1 of both on the test set, side by
   side in one run.

Amdahl's law bounds the speed-up at 1 / (1 − share) even if int8 products took no time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mltl.runtime import configure_threads  # noqa: E402

configure_threads()


def main() -> None:
    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    import mltl.models.bilstm_cpu as bl
    from mltl.evaluation import tagging_report
    from mltl.models.model import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--lang", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    m = load_model(a.model, device="cpu")
    rows = [json.loads(x) for x in open(a.test, encoding="utf-8")]
    sents = [r["tokens"] for r in rows]
    gold = [r["tags"] for r in rows]
    n_tok = sum(map(len, sents))

    def run() -> tuple[float, float]:
        best = float("inf")
        for _ in range(a.repeat):
            t = time.perf_counter()
            preds = m.predict_batch(a.lang, sents, batch_size=256)
            best = min(best, time.perf_counter() - t)
        return n_tok / best, 100 * tagging_report(gold, [p["tags"] for p in preds])["f1"]

    m.predict_batch(a.lang, sents[:256])  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        m.predict_batch(a.lang, sents, batch_size=256)
    ops = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(ops.values())
    share = ops.get("aten::addmm", 0) / total
    print("fp32 profile, share of self CPU time:")
    for k, v in sorted(ops.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {k:28s} {100 * v / total:5.1f} %")
    print(f"  → int8-replaceable (addmm): {100 * share:.1f} %, Amdahl bound {1 / (1 - share):.2f}×")
    fp32 = run()

    packed: dict[int, object] = {}
    linear = F.linear

    def int8_linear(x, w, b=None):
        key = id(w)
        if key not in packed:
            scale = w.detach().abs().amax(dim=1).clamp_min(1e-8) / 127
            q = torch.quantize_per_channel(w.detach(), scale, torch.zeros_like(scale, dtype=torch.long), 0, torch.qint8)
            packed[key] = torch.ops.quantized.linear_prepack(q, None)
        y = torch.ops.quantized.linear_dynamic(x.contiguous(), packed[key], True)
        return y + b if b is not None else y

    bl.F = type("F", (), {"linear": staticmethod(int8_linear)})  # type: ignore[assignment]  # bilstm_cpu uses F.linear only
    try:
        int8 = run()
    finally:
        bl.F = F
        del linear
    print(f"\n{a.lang} test, {n_tok:,} tokens, best of {a.repeat}:")
    print("| | tokens/s | entity F1 |\n|---|---|---|")
    print(f"| fp32 | {fp32[0]:,.0f} | {fp32[1]:.2f} |")
    print(f"| int8 BiLSTM input projections | {int8[0]:,.0f} ({int8[0] / fp32[0]:.2f}×) | {int8[1]:.2f} |")


if __name__ == "__main__":
    main()
