"""Where a MAN-MoE training step spends its time (issue 25), on gold CoNLL data.

    python bench/bench_step.py --data bench/work/gold-quick/data/conll \
        --vectors bench/work/gold-quick/aligned --sources en,es,nl --target de

Builds the trainer exactly as ``mltl train`` does (the gold suite's NER flags:
CharCNN, k=1, lowercased words, batch 16), runs ``--warmup`` iterations, then
``--steps`` iterations under ``torch.profiler`` and prints

- time per iteration and labeled tokens/s (the trainer's own count),
- the time per *phase* of Algorithm 1 (forward of each module: CharCNN, Fs, Fp,
  Fp-MoE, C, D; backward; optimizer; batch making), from ``record_function``
  scopes this script adds with forward hooks (backward is one phase: autograd
  runs it as one graph),
- the top operators by self CPU time,
- dev evaluation time (one full pass over the source dev sets).

``--json`` prints the numbers as one JSON object instead of tables.

``--against REV`` measures a git revision too, in the same invocation: it checks
REV out into a temporary worktree, runs this script there (same options, this
copy of the script) and prints the two side by side, before then after, so
before/after numbers share the machine's state:

    python bench/bench_step.py --against b9f936f~1 --arch man_moe --no-profile
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# --code: the source tree to measure (an older revision's worktree, see --against)
_code = sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv else str(ROOT)
sys.path.insert(0, _code)

from mltl.runtime import configure_threads  # noqa: E402

configure_threads()


def build_trainer(a):
    from mltl.config import merge
    from mltl.training.data import load_run_data
    from mltl.training.trainer import Trainer

    langs = sorted(set(a.sources.split(",")) | {a.target})
    layer = {
        "task": "tagging",
        "data": {
            "data": str(a.data),
            "vectors": str(a.vectors),
            "sources": a.sources.split(","),
            "target": a.target,
            "lowercase": langs,
        },
        "model": {"char_cnn": True, "arch": a.arch},
        "training": {"k": 1, "batch_size": a.batch, "threads": a.threads, "seed": 1, "patience": 0},
    }
    for item in a.set:
        k, v = item.split("=", 1)
        sec, key = k.split(".")
        layer.setdefault(sec, {})[key] = json.loads(v)
    cfg = merge(layer)
    data = load_run_data(cfg)
    return Trainer(cfg, data, None)


def phase_hooks(net):
    """record_function scopes around the forward of each top-level module."""
    import torch

    names = {
        "charcnn": "F CharCNN",
        "fs": "F Fs",
        "fp": "F Fp",
        "fp_moe": "F Fp-MoE",
        "head": "F C",
        "discriminator": "F D",
    }
    handles = []
    for attr, label in names.items():
        mod = getattr(net, attr, None)
        if mod is None:
            continue
        ctx = {}

        def pre(m, inp, label=label, ctx=ctx):
            ctx["r"] = torch.autograd.profiler.record_function(label)
            ctx["r"].__enter__()

        def post(m, inp, out, ctx=ctx):
            ctx["r"].__exit__(None, None, None)

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    return handles


def wrap(obj, name, label):
    import torch

    fn = getattr(obj, name)

    def inner(*args, **kw):
        with torch.autograd.profiler.record_function(label):
            return fn(*args, **kw)

    setattr(obj, name, inner)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "bench/work/gold-quick/data/conll")
    ap.add_argument("--vectors", type=Path, default=ROOT / "bench/work/gold-quick/aligned")
    ap.add_argument("--sources", default="en,es,nl")
    ap.add_argument("--target", default="de")
    ap.add_argument("--arch", default="man_moe")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--set", action="append", default=[], help="SECTION.KEY=JSON, e.g. training.k=2")
    ap.add_argument("--no-profile", action="store_true", help="time only (no profiler overhead)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--against", metavar="REV", help="also measure this git revision, side by side")
    ap.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.against:
        return compare(a)

    import torch
    from torch.profiler import ProfilerActivity, profile

    from mltl.training.trainer import _zero_stats

    tr = build_trainer(a)
    tr.net.train()
    stats = _zero_stats()
    for _ in range(a.warmup):
        tr.iteration(stats)
    # phase scopes: optimizer steps, backward, batch making
    wrap(tr.opt, "step", "opt F/C step")
    if tr.d_opt is not None:
        wrap(tr.d_opt, "step", "opt D step")
    wrap(tr, "_batch", "batch making")
    handles = phase_hooks(tr.net)
    orig_backward = torch.Tensor.backward

    def backward(self, *args, **kw):
        with torch.autograd.profiler.record_function("backward"):
            return orig_backward(self, *args, **kw)

    torch.Tensor.backward = backward
    stats = _zero_stats()
    t0 = time.perf_counter()
    prof = None
    if a.no_profile:
        for _ in range(a.steps):
            tr.iteration(stats)
    else:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(a.steps):
                tr.iteration(stats)
    secs = time.perf_counter() - t0
    torch.Tensor.backward = orig_backward
    for h in handles:
        h.remove()
    tr.net.eval()
    t1 = time.perf_counter()
    scores = tr.evaluate()
    eval_s = time.perf_counter() - t1
    tr.net.train()
    res = {
        "arch": a.arch,
        "threads": torch.get_num_threads(),
        "steps": a.steps,
        "s_per_step": round(secs / a.steps, 4),
        "labeled_tok_s": round(stats["tokens"] / secs),
        "eval_s": round(eval_s, 2),
        "dev": {k: round(v, 4) for k, v in scores.items()},
        "dev_tokens": sum(int(c.lengths.sum()) for c in tr.data.dev.values()) if hasattr(tr.data, "dev") else None,
    }
    if prof is not None:
        ev = prof.key_averages()
        phases = {
            e.key: e.cpu_time_total / 1e3 / a.steps
            for e in ev
            if e.key.startswith(("F ", "opt ", "backward", "batch making"))
        }
        res["phases_ms"] = {k: round(v, 2) for k, v in sorted(phases.items(), key=lambda kv: -kv[1])}
        ops = sorted(
            (e for e in ev if not e.key.startswith(("F ", "opt ", "backward", "batch making", "ProfilerStep"))),
            key=lambda e: -e.self_cpu_time_total,
        )[: a.top if hasattr(a, "top") else 20]
        res["top_ops_ms"] = {e.key: round(e.self_cpu_time_total / 1e3 / a.steps, 2) for e in ops}
    if a.json:
        print(json.dumps(res, indent=1))
        return
    print(
        f"{a.arch}: {res['s_per_step'] * 1e3:.0f} ms/iteration, {res['labeled_tok_s']} labeled tok/s "
        f"({res['threads']} thread(s), {a.steps} steps{'' if a.no_profile else ', under the profiler'})"
    )
    print(f"dev evaluation: {eval_s:.1f} s for {res['dev_tokens']} tokens; {res['dev']}")
    if prof is not None:
        print("\nphase (ms per iteration, inclusive; forward of each module)")
        for k, v in res["phases_ms"].items():
            print(f"  {k:<16} {v:8.1f}")
        print("\ntop operators (self ms per iteration)")
        for k, v in res["top_ops_ms"].items():
            print(f"  {k:<50} {v:8.1f}")


def compare(a) -> None:
    """Run REV and the working tree one after the other; print both."""
    import subprocess
    import tempfile

    argv = [x for x in sys.argv[1:]]
    i = argv.index("--against")
    del argv[i : i + 2]
    argv = [x for x in argv if x != "--json"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), a.against],
            check=True,
            capture_output=True,
        )
        try:
            for label, code in ((a.against, tree), ("working tree", ROOT)):
                r = subprocess.run(
                    [sys.executable, __file__, *argv, "--json", "--code", str(code)], capture_output=True, text=True
                )
                if r.returncode:
                    sys.exit(f"{label}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
                results[label] = json.loads(r.stdout[r.stdout.index("{") :])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    if a.json:
        print(json.dumps(results, indent=1))
        return
    (b_label, b), (n_label, n) = results.items()
    print(f"{a.arch}, {a.sources} → {a.target}, batch {a.batch}, {a.threads} thread(s), {a.steps} steps")
    print(f"{'':<22}{b_label:>14}{n_label:>14}{'ratio':>8}")
    for key, name in (("s_per_step", "s / iteration"), ("labeled_tok_s", "labeled tok/s"), ("eval_s", "dev eval s")):
        ratio = (b[key] / n[key]) if key != "labeled_tok_s" else (n[key] / b[key])
        print(f"{name:<22}{b[key]:>14}{n[key]:>14}{ratio:>7.2f}x")
    if "phases_ms" in b and "phases_ms" in n:
        print("\nms per iteration under the profiler (forward of each module, backward, optimizer, batches)")
        for k in sorted(set(b["phases_ms"]) | set(n["phases_ms"]), key=lambda k: -b["phases_ms"].get(k, 0)):
            print(f"  {k:<20}{b['phases_ms'].get(k, 0):>14}{n['phases_ms'].get(k, 0):>14}")
        print("\ntop operators, self ms per iteration")
        for k in sorted(set(b["top_ops_ms"]) | set(n["top_ops_ms"]), key=lambda k: -b["top_ops_ms"].get(k, 0))[:16]:
            print(f"  {k:<34}{b['top_ops_ms'].get(k, '–'):>10}{n['top_ops_ms'].get(k, '–'):>10}")


if __name__ == "__main__":
    main()
