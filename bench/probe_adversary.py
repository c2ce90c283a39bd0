"""How much does the adversary move Fs? (issue 17: "without D is better")

For a finished ``mltl train`` run, measure on its own training data, at initialisation and at
its last checkpoint, the gradients that reach the shared feature extractor Fs from the two
terms of Algorithm 1's main loss (lines 17 and 21):

    J_C-part = Σ_l∈S L_C + λ2 (L_G1 + L_G2)        (the task)
    J_D-part = −λ1 Σ_l∈Δ L_D(D(Fs(x)); l)          (confuse D)

and report ‖∇_Fs J_D-part‖ / ‖∇_Fs J_C-part‖ (over all of Fs's parameters, and the median of
the per-parameter-tensor ratios) for the run's λ1 and for larger ones, and the share of Fs's
elements where the D part's summed gradient is the larger of the two. Adam rescales each
parameter's step by its own gradient history, so the direction Fs moves in is set by this
ratio: at 1e-3 the D term is a rounding error of the update.

    python bench/probe_adversary.py RUN_DIR [--batches 20] [--lambdas 1e-4,1e-3,1e-2,1e-1]

With ``--chars`` it also takes both gradients on the CharCNN's character embeddings (D's
reaching them as it did before 2026-12-04, ``training.adversary_chars``) and lists the
characters that the sampled task batches never touched but D's did: Adam, which divides each
parameter's step by its own gradient history, moves those at the full learning rate whatever
λ1 is. Beside each, how often it occurs in the target's test text.

Nothing is written; the run directory is only read.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def grads(tr, n: int, extra: list | None = None) -> tuple[list, list, float]:
    """Summed ∇_Fs of the task part and of L_D (λ1 = 1) over ``n`` fresh batch sets; D's accuracy.

    Both parts come from the trainer's own code (Trainer.main_forward and confusion_loss, the
    two halves of its main iteration), so the probe measures exactly what training optimises.
    """
    from collections import defaultdict

    import torch

    params = [p for p in tr.net.fs.parameters() if p.requires_grad] + list(extra or [])
    g_c = [torch.zeros_like(p) for p in params]
    g_d = [torch.zeros_like(p) for p in params]
    correct = total = 0
    for _ in range(n):
        fw = tr.main_forward(defaultdict(float), adversarial=True)
        l_d, c, tot = tr.confusion_loss(fw)
        correct, total = correct + c, total + tot
        for acc, loss in ((g_c, fw.task_loss), (g_d, l_d)):
            gs = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            for a, g in zip(acc, gs):
                if g is not None:
                    a += g
    return g_c, g_d, correct / max(total, 1)


def test_char_counts(cfg) -> dict[str, int]:
    """How many of the target's test tokens hold each character (as the CharCNN sees it)."""
    from collections import Counter

    from mltl.data.jsonl import read_jsonl
    from mltl.models.featurize import char_lowercasing, chars_lowercased

    test = Path(cfg.data.data) / cfg.data.target / "test.jsonl"
    low = chars_lowercased(char_lowercasing(cfg.model), cfg.data.target)
    counts: Counter = Counter()
    if test.is_file():
        for _, rec in read_jsonl(test):
            for tok in rec["tokens"]:
                counts.update(set(tok.lower() if low else tok))
    return counts


def char_report(tr, g_c, g_d, lam: float, counts: dict[str, int]) -> list[dict]:
    """The characters whose embedding row got no task gradient in the sampled batches and a
    non-zero one from λ1·L_D, most frequent in the target's test text first."""
    chars = tr.model.featurizer.chars
    task, adv = g_c.norm(dim=1), lam * g_d.norm(dim=1)
    rows = [
        {"char": chars[i], "lambda1_grad_LD": float(adv[i]), "test_tokens": counts.get(chars[i], 0)}
        for i in range(2, len(chars))  # 0 pad, 1 unknown
        if float(task[i]) == 0.0 and float(adv[i]) > 0.0
    ]
    return sorted(rows, key=lambda r: -r["test_tokens"])


def probe(run: Path, n: int, lambdas: list[float], chars: bool = False) -> dict:
    import torch

    from mltl.config import config_from_json, replace
    from mltl.training.data import load_run_data
    from mltl.training.trainer import CHECKPOINT, Trainer

    if not (run / "config.json").is_file() or not (run / CHECKPOINT / "trainer.pt").is_file():
        raise SystemExit(f"{run}: not a finished mltl train directory (config.json and checkpoint/ needed)")
    cfg = config_from_json((run / "config.json").read_text(encoding="utf-8"))
    if chars:  # D's gradient must reach the CharCNN to be measured there
        cfg = replace(cfg, training={"adversary_chars": True})
    data = load_run_data(cfg)
    out: dict = {"run": run.name, "lambda1": cfg.training.lambda1, "at": {}}
    counts = test_char_counts(cfg) if chars else {}
    for at in ("init", "last checkpoint"):
        tr = Trainer(cfg, data, None)
        if at != "init":
            tr.load_checkpoint(run / CHECKPOINT)
        if tr.net.discriminator is None:
            raise SystemExit(f"{run}: this run has no language discriminator D")
        tr.net.train()
        emb = [tr.net.charcnn.emb.weight] if chars and tr.net.charcnn is not None else []
        g_c, g_d, d_acc = grads(tr, n, emb)
        fs_named = [(k, p) for k, p in tr.net.fs.named_parameters() if p.requires_grad]  # grads' order
        if emb:
            out.setdefault("chars", {})[at] = char_report(tr, g_c.pop(), g_d.pop(), cfg.training.lambda1, counts)
        norm = lambda gs: float(torch.sqrt(sum((g**2).sum() for g in gs)))  # noqa: E731
        per = [float(d.norm() / c.norm()) for c, d in zip(g_c, g_d) if c.norm() > 0]
        # Per element: where does λ1·L_D's summed gradient outweigh the task's? Adam divides
        # both by the same per-parameter history, so there D's term sets the step's direction.
        flat_c = torch.cat([g.flatten() for g in g_c]).abs()
        flat_d = torch.cat([g.flatten() for g in g_d]).abs()
        out["at"][at] = {
            "step": tr.step,
            "D_acc": d_acc,
            "grad_task": norm(g_c),
            "grad_LD": norm(g_d),
            "ratio": {f"{lam:g}": lam * norm(g_d) / norm(g_c) for lam in lambdas},
            "median_param_ratio": {f"{lam:g}": lam * statistics.median(per) for lam in lambdas},
            "share_elements_D_over_task": {
                f"{lam:g}": float((lam * flat_d > flat_c).double().mean()) for lam in lambdas
            },
            # the same at the run's λ1, per parameter tensor of Fs: where those elements are
            "share_by_tensor": {
                name: float((cfg.training.lambda1 * d.abs() > c.abs()).double().mean())
                for (name, _), c, d in zip(fs_named, g_c, g_d)
            },
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--lambdas", default="1e-4,1e-3,1e-2,1e-1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chars", action="store_true", help="also the CharCNN rows only D's gradient reaches")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    lambdas = [float(x) for x in a.lambdas.split(",")]
    for run in a.runs:
        r = probe(run, a.batches, lambdas, a.chars)
        print(json.dumps(r))
        for at, v in r["at"].items():
            rs = ", ".join(f"λ1={k}: {x:.2e}" for k, x in v["ratio"].items())
            print(
                f"{r['run']} [{at}, step {v['step']}] D acc {v['D_acc']:.2f}; "
                f"‖∇Fs task‖ {v['grad_task']:.3g}, ‖∇Fs L_D‖ {v['grad_LD']:.3g}; λ1·ratio {rs}"
            )
            es = ", ".join(f"λ1={k}: {x:.2%}" for k, x in v["share_elements_D_over_task"].items())
            print(f"  share of Fs's elements where λ1·|∇L_D| > |∇task|: {es}")
            top = sorted(v["share_by_tensor"].items(), key=lambda kv: -kv[1])[:4]
            print("  at the run's λ1, by tensor: " + ", ".join(f"{k} {x:.2%}" for k, x in top))
            only_d = r.get("chars", {}).get(at)
            if only_d is not None:
                top = ", ".join(f"{c['char']!r} ({c['test_tokens']})" for c in only_d[:12])
                print(f"  {len(only_d)} characters trained by D alone; by test occurrences: {top}")


if __name__ == "__main__":
    main()
