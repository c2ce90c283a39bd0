"""Algorithm 1 of the paper: MAN-MoE training.

Per iteration:

1. *D iterations* (k times, only with the adversary): for every language l ∈ Δ
   sample unlabeled x ~ U_l, l_D += L_D(D(Fs(x)); l); update D with its own Adam.
2. *Main iteration*: for every source l ∈ S sample (x, y) ~ X_l,
   loss += L_C(ŷ; y) + λ2 (L_G(g1; l) + L_G(g2; l)); for every l ∈ Δ sample
   x ~ U_l, loss += −λ1 L_D(D(Fs(x)); l); update Fs, Fp, C (D frozen).

So J = J_C − λ1·J_D + λ2·(J_G1 + J_G2), the gate losses being token-level NLL.
Model selection: mean dev score over the sources (zero-resource), or a labeled
target dev file (marked "not zero-resource").

Output directory::

    OUT/config.json        the merged config (what --resume reads)
    OUT/train_log.jsonl    one line per evaluation (epoch end)
    OUT/checkpoint/        weights + optimizer/RNG/sampler state for --resume
    OUT/model-best/        best dev score so far (a full model directory)
    OUT/model-last/        the final (or interrupted) model
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from mltl import __version__, distributed, log
from mltl.config import TrainConfig, config_from_json
from mltl.device import pick_device
from mltl.errors import InputError, InternalError
from mltl.files import atomic_dir, atomic_file
from mltl.training.lock import run_lock

CHECKPOINT = "checkpoint"
# What Trainer.state_dict writes to checkpoint/trainer.pt.
TRAINER_STATE_KEYS = frozenset(
    {
        "step",
        "best_score",
        "best_step",
        "bad_evals",
        "opt",
        "d_opt",
        "torch_rng",
        "cuda_rng",
        "samplers",
        "history",
        "mltl_version",
    }
)


@dataclass
class TrainResult:
    model: Any  # mltl.models.model.Model (the best one)
    out_dir: Path | None
    metrics: dict[str, Any]
    interrupted: bool = False
    steps: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def deterministic_on_cpu(device) -> Iterator[None]:
    """PyTorch's deterministic algorithms while training on CPU, restored afterwards.

    With 2 threads, two runs of the same command and seed drifted apart (losses differed
    in the 8th digit after 20 steps; the README example's test F1 41.7 vs 43.8 after 300
    steps), presumably a parallel reduction whose order varied; with 1 thread they did
    not. Deterministic mode made 2-thread runs identical at no measurable cost (3,378 /
    3,131 vs 3,311 / 3,153 tokens/s, alternating runs). CUDA keeps its fast kernels.
    ``warn_only``: an op without a deterministic version (a plugin's) warns instead of
    failing the run.
    """
    import torch

    if device.type != "cpu":
        yield
        return
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)


@dataclass
class MainForward:
    """What :meth:`Trainer.main_forward` computed (Algorithm 1, lines 11-20)."""

    task_loss: Any  # Σ_l∈S L_C + λ2 (L_G1 + L_G2), a scalar tensor
    fs_unl: Any = None  # Fs(x) on the unlabeled rows of every l ∈ Δ (None without D)
    mask_unl: Any = None
    unl_segs: list[tuple[str, int]] = field(default_factory=list)  # (language, rows) per block


class Trainer:
    """Runs Algorithm 1 on prepared :class:`RunData`; see :func:`train`."""

    def __init__(self, cfg: TrainConfig, data, out_dir: Path | None, *, on_step: Callable | None = None) -> None:
        import torch

        from mltl.models.model import Model, build_network
        from mltl.training.sampler import BucketSampler

        self.cfg = cfg
        self.data = data
        self.out_dir = out_dir
        self.on_step = on_step
        self.task = data.task
        t = cfg.training
        # --threads applies while this trainer trains; fit() restores the caller's setting
        self._threads_before = torch.get_num_threads()
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        # torchrun: this process is one rank of several (mltl/distributed.py); one process otherwise
        self.world = distributed.world()
        self.device = pick_device(t.device)
        if self.world.active and self.device.type == "cuda":
            self.device = torch.device("cuda", self.world.local_rank)  # one GPU per rank on its node
            torch.cuda.set_device(self.device)
        self._joined = distributed.init(self.world, self.device.type)
        torch.manual_seed(t.seed)  # parameter init: identical for identical seeds (and on every rank)
        emb_dim = next(iter(data.vectors.values())).shape[1]
        net = build_network(cfg, len(data.labels), len(data.featurizer.chars), emb_dim, labels=data.labels)
        for lang, mat in data.vectors.items():
            net.embeddings.set_language(lang, mat)
        if data.init_state is not None:  # --init-model: its weights, not a fresh initialisation
            net.load_state_dict(data.init_state)
        self.net = net.to(self.device)
        if self.world.active:
            # Identical replicas (rank 0's values), then each rank its own dropout draws.
            distributed.broadcast_parameters(self.net.parameters(), self.world)
            torch.manual_seed(t.seed + 104_729 * self.world.rank)
        model_cls = self.task.model_class or Model  # a task may post-process predictions
        self.model = model_cls(cfg, self.net, data.featurizer, data.labels, data.scheme, data.vectors)
        # On CUDA one fused kernel per step instead of Adam's multi-tensor loop: the
        # GPU step is bound by kernel launches, not by arithmetic.
        fused = self.device.type == "cuda"
        self.opt = torch.optim.Adam(self.net.main_parameters(), lr=t.lr, weight_decay=t.weight_decay, fused=fused)
        self.d_opt = (
            torch.optim.Adam(self.net.discriminator.parameters(), lr=t.d_lr, weight_decay=t.weight_decay, fused=fused)
            if self.net.discriminator is not None
            else None
        )
        # One sampler per corpus, each seeded from (seed, role, language index): adding a
        # language does not change another's batches. Under torchrun each rank draws its own
        # batches (the rank joins the seed); one process keeps the seeds it always had.
        langs = cfg.all_langs
        per_rank = [self.world.rank] if self.world.active else []
        self.samplers = {
            f"X/{l}": BucketSampler(
                data.train[l].lengths, t.batch_size, [t.seed, 0, langs.index(l), *per_rank], t.length_buckets
            )
            for l in data.train  # the sources (+ the target with --target-train)
        }
        self.samplers.update(
            {
                f"U/{l}": BucketSampler(
                    c.lengths, t.batch_size, [t.seed, 1, langs.index(l), *per_rank], t.length_buckets
                )
                for l, c in data.d_text.items()
            }
        )
        largest = max(len(c) for c in data.train.values())
        # An epoch is one pass over the largest source by all ranks together.
        self.steps_per_epoch = t.steps_per_epoch or max(1, math.ceil(largest / (t.batch_size * self.world.size)))
        self.step = 0
        self.best_score = -math.inf
        self.best_step = 0
        self.bad_evals = 0
        self.history: list[dict[str, Any]] = []
        self.stop_requested = False
        self.use_chars = self.net.charcnn is not None
        self.amp = bool(t.amp and self.device.type == "cuda")

    # ---------------------------------------------------------------- batches
    def _batch(self, key: str, corpus, labels: bool):
        idx = self.samplers[key].next()
        return corpus.batch(idx, with_chars=self.use_chars, with_labels=labels, token_level=self.task.token_level).to(
            self.device
        )

    def _autocast(self):
        import contextlib

        import torch

        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ---------------------------------------------------------------- one iteration
    def _sample(self, prefix: str, corpora: dict, labels: bool) -> tuple[list[tuple[str, int]], Any]:
        """One mini-batch per language, concatenated: the shared modules run once."""
        from mltl.models.man_moe import cat_batches

        bs = [self._batch(f"{prefix}/{lang}", c, labels) for lang, c in corpora.items()]
        return [(b.lang, b.words.shape[0]) for b in bs], cat_batches(bs).to(self.device)

    def _discriminate(self, fs, mask, segs: list[tuple[str, int]]):
        """D(fs): language logits (float32) for row blocks of (language, rows)."""
        with self._autocast():
            return self.net.discriminate(fs, mask, [n for _, n in segs]).float()

    def _lang_losses(self, logits, segs: list[tuple[str, int]]):
        """Σ_l L_D(D(fs); l) over the row blocks of each language (+ #correct)."""
        import torch
        import torch.nn.functional as F

        gold = torch.cat([torch.full((n,), self.net.lang_index(lang), dtype=torch.long) for lang, n in segs])
        gold = gold.to(logits.device)
        loss = sum(
            F.cross_entropy(part, g)
            for part, g in zip(logits.split([n for _, n in segs]), gold.split([n for _, n in segs]))
        )
        return loss, int((logits.argmax(-1) == gold).sum()), len(gold)

    def d_iteration(self, stats: dict[str, float], k: int) -> None:
        """Lines 3-9: update D on unlabeled text of every language, Fs fixed."""
        import torch

        net = self.net
        for _ in range(k):
            segs, b = self._sample("U", self.data.d_text, labels=False)  # x ~ U_l for all l ∈ Δ
            with self._autocast():
                with torch.no_grad():
                    fs = net.shared_features(b)  # fs = Fs(x)
            l_d, correct, total = self._lang_losses(self._discriminate(fs, b.mask, segs), segs)  # l_D += L_D(D(fs); l)
            self._d_update(l_d, correct, total, stats)

    def _d_update(self, l_d, correct: int, total: int, stats: dict[str, float]) -> None:
        assert self.d_opt is not None  # D steps run only with a discriminator (see iteration)
        self.d_opt.zero_grad(set_to_none=True)
        l_d.backward()
        distributed.average_gradients(self.net.discriminator.parameters(), self.world)  # D's step, in lockstep
        self.d_opt.step()
        stats["J_D"] += float(l_d.detach()) / self.cfg.training.k
        stats["d_correct"] += correct
        stats["d_total"] += total

    def iteration(self, stats: dict[str, float]) -> None:
        """One pass of Algorithm 1's loop body."""
        k = self.cfg.training.k
        if self.d_opt is None:
            self.main_iteration(stats, shared_d=False)
        elif self.cfg.training.share_d_batches and self.cfg.training.lambda1 > 0:
            # k-1 fresh D steps, then the main iteration does the k-th D step on the
            # unlabeled batches it draws for −λ1·J_D (Fs runs once on them).
            self.d_iteration(stats, k - 1)
            self.main_iteration(stats, shared_d=True)
        else:
            self.d_iteration(stats, k)
            self.main_iteration(stats, shared_d=False)

    def main_iteration(self, stats: dict[str, float], shared_d: bool = False) -> None:
        """Lines 11-22: update Fs, Fp, C on every source (+ confuse D on every language)."""
        net, t = self.net, self.cfg.training
        adversarial = net.discriminator is not None and t.lambda1 > 0
        fw = self.main_forward(stats, adversarial)
        loss = fw.task_loss
        if adversarial and shared_d:
            # D step on these batches first (D sees Fs(x) detached; Fs is not changed by
            # D's update, so this equals a D step on freshly computed features).
            d_logits = self._discriminate(fw.fs_unl.detach(), fw.mask_unl, fw.unl_segs)
            l_d, correct, total = self._lang_losses(d_logits, fw.unl_segs)
            self._d_update(l_d, correct, total, stats)
        if adversarial:
            l_d, _, _ = self.confusion_loss(fw)
            loss = loss - t.lambda1 * l_d  # −λ1·L_D: confuse D
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.net.main_parameters(), self.world)  # Fs, Fp, C: the mean over ranks
        self.opt.step()
        stats["J"] += float(loss.detach())

    def main_forward(self, stats: dict[str, float], adversarial: bool) -> MainForward:
        """Lines 11-20 without the update: draw (x, y) ~ X_l for every source l ∈ S (and, when
        ``adversarial``, x ~ U_l for every l ∈ Δ), run Fs once on all of them, Fp and C on the
        labeled rows, and return Σ_l L_C + λ2 (L_G1 + L_G2) with Fs(x) of the unlabeled rows.

        Split from :meth:`main_iteration` so that a diagnostic (bench/probe_adversary.py) can
        take the gradients of the task part and of :meth:`confusion_loss` separately.
        """
        import torch
        import torch.nn.functional as F

        from mltl.models.man_moe import cat_batches
        from mltl.models.moe import gate_nll

        net, t = self.net, self.cfg.training
        lab = [self._batch(f"X/{lang}", c, labels=True) for lang, c in self.data.train.items()]
        unl = [self._batch(f"U/{lang}", c, labels=False) for lang, c in self.data.d_text.items()] if adversarial else []
        lab_rows = [b.words.shape[0] for b in lab]
        n_lab = sum(lab_rows)
        big = cat_batches(lab + unl).to(self.device)
        with self._autocast():
            x = net.represent(big)
            if adversarial and not t.adversary_chars:
                # The unlabeled rows feed only −λ1·J_D: cut their word representation from the
                # graph so that D's gradient updates Fs (line 22) and not the CharCNN, whose
                # target-only characters it would otherwise train alone (TrainingConfig).
                x = torch.cat([x[:n_lab], x[n_lab:].detach()])
            fs = net.fs(x, big.lengths)  # fs = Fs(x), all batches at once
            t_lab = int(big.lengths[:n_lab].max())  # labeled rows cut to their own longest
            out = net.predict_from(x[:n_lab, :t_lab], fs[:n_lab, :t_lab], big.lengths[:n_lab], big.mask[:n_lab, :t_lab])
        loss: torch.Tensor | float = 0.0
        lp_all = out.log_probs.float()
        parts = zip(
            lab,
            lp_all.split(lab_rows),
            big.mask[:n_lab, :t_lab].split(lab_rows),
            *(g.float().split(lab_rows) if g is not None else [None] * len(lab) for g in (out.gate1, out.gate2)),
        )
        for b, lp, mask, g1, g2 in parts:
            gold = b.labels.to(lp.device)
            if self.task.token_level:
                gold = F.pad(gold, (0, lp.shape[1] - gold.shape[1]), value=-100)
            l_c = net.head.loss(lp, gold, mask)  # L_C, the head's own (NLL, CRF, ...)
            l_g: torch.Tensor | float = 0.0
            # --target-train: the target has no expert of its own, so its rows carry no gate loss
            e = net.expert_index(b.lang) if b.lang in net.sources else None
            if g1 is not None and e is not None:
                j1 = gate_nll(g1, e, mask)
                l_g = l_g + j1
                stats["J_G1"] += float(j1.detach())
            if g2 is not None and e is not None:
                j2 = gate_nll(g2, e, mask if self.task.token_level else None)
                l_g = l_g + j2
                stats["J_G2"] += float(j2.detach())
            loss = loss + l_c + t.lambda2 * l_g  # L_C + λ2 (L_G1 + L_G2)
            stats["J_C"] += float(l_c.detach())
            stats["tokens"] += b.n_tokens
        assert isinstance(loss, torch.Tensor)  # a term per source was added, and there is at least one
        if not adversarial:
            return MainForward(loss)
        # D reads only the unlabeled rows, cut to their own longest sentence: the
        # concatenated batch is padded to the longest labeled one, and D's masked
        # convolutions would spend their time on that padding (same result).
        t_unl = int(big.lengths[n_lab:].max())
        segs = [(b.lang, b.words.shape[0]) for b in unl]
        return MainForward(loss, fs[n_lab:, :t_unl], big.mask[n_lab:, :t_unl], segs)

    def confusion_loss(self, fw: MainForward) -> tuple[Any, int, int]:
        """Line 21 before its −λ1: Σ_l∈Δ L_D(D(Fs(x)); l) on the unlabeled rows of ``fw``, its
        gradient reaching Fs only (D's parameters are frozen while it is built), and D's
        #correct / #rows on them."""
        net = self.net
        assert net.discriminator is not None and fw.fs_unl is not None
        for p in net.discriminator.parameters():  # D is not updated here: no grads for it
            p.requires_grad_(False)
        try:
            return self._lang_losses(self._discriminate(fw.fs_unl, fw.mask_unl, fw.unl_segs), fw.unl_segs)
        finally:
            for p in net.discriminator.parameters():
                p.requires_grad_(True)

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, model=None) -> dict[str, float]:
        model = model or self.model
        preds = {
            key: model.predict_corpus(corpus, self.cfg.training.eval_batch_size)
            for key, corpus in self.data.dev.items()
        }
        # e.g. per-label decision thresholds, chosen on the dev sets used for model
        # selection; the task updates the model and the predictions in place.
        keys = ["target"] if "target" in preds else list(self.cfg.data.sources)
        self.task.tune(model, [g for k in keys for g in self.data.dev_gold[k]], [p for k in keys for p in preds[k]])
        field_ = self.task.pred_key
        return {
            key: self.task.score(self.data.dev_gold[key], [p[field_] for p in pred], self.data.scheme)
            for key, pred in preds.items()
        }

    def selection_score(self, scores: dict[str, float]) -> float:
        if "target" in scores:
            return scores["target"]
        return float(np.mean([scores[l] for l in self.cfg.data.sources]))

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        import torch

        st = {
            "step": self.step,
            "best_score": self.best_score,
            "best_step": self.best_step,
            "bad_evals": self.bad_evals,
            "opt": self.opt.state_dict(),
            "d_opt": self.d_opt.state_dict() if self.d_opt else None,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "samplers": {k: s.state_dict() for k, s in self.samplers.items()},
            "history": json.dumps(self.history),
            "mltl_version": __version__,
        }
        if self.world.active:  # every rank's samplers and RNG, so each resumes its own stream
            st["world_size"] = self.world.size
            ranks = distributed.gather_objects(self._rank_state(), self.world)
            # The replicas must be identical (same start, same averaged gradients): checked
            # at every checkpoint, since a silent divergence would make rank 0's model a lie.
            sums = [r.pop("weights_sum") for r in ranks]
            if len(set(sums)) != 1:
                raise InternalError(f"the ranks' weights diverged at step {self.step} (sums {sums})")
            st["ranks"] = ranks
        return st

    def _rank_state(self) -> dict[str, Any]:
        import torch

        with torch.no_grad():
            weights_sum = float(sum(p.double().sum() for p in self.net.parameters()))
        return {
            "torch_rng": torch.get_rng_state(),
            "samplers": {k: s.state_dict() for k, s in self.samplers.items()},
            "weights_sum": weights_sum,
        }

    def load_state_dict(self, st: dict[str, Any]) -> None:
        import torch

        saved_world = int(st.get("world_size", 1))
        if saved_world != self.world.size:
            raise InputError(
                f"the checkpoint is of a run on {saved_world} process(es) and this is {self.world.size}: "
                f"resume it with the same world size (torchrun --nproc-per-node …, or one process for 1)"
            )
        if self.world.active:
            mine = st["ranks"][self.world.rank]
            st = {**st, "torch_rng": mine["torch_rng"], "samplers": mine["samplers"]}
        self.step = int(st["step"])
        self.best_score = float(st["best_score"])
        self.best_step = int(st["best_step"])
        self.bad_evals = int(st["bad_evals"])
        self.opt.load_state_dict(st["opt"])
        if self.d_opt and st["d_opt"] is not None:
            self.d_opt.load_state_dict(st["d_opt"])
        torch.set_rng_state(st["torch_rng"])
        if st["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(st["cuda_rng"])
        for k, s in st["samplers"].items():
            self.samplers[k].load_state_dict(s)
        self.history = json.loads(st["history"])

    def save_checkpoint(self) -> None:
        import torch

        if self.out_dir is None:
            return
        st = self.state_dict()  # on every rank: it gathers the ranks' states
        if not self.world.is_main:
            return
        with atomic_dir(self.out_dir / CHECKPOINT, force=True) as tmp:
            torch.save(self.net.state_dict(), tmp / "weights.pt")
            torch.save(st, tmp / "trainer.pt")

    def load_checkpoint(self, d: Path) -> None:
        """Restore weights and trainer state from ``d``; anything that is not this run's
        checkpoint raises :class:`InputError` (torch.load stays ``weights_only``)."""
        from mltl.models.model import check_state_dict, load_torch_file

        for name in ("weights.pt", "trainer.pt"):
            if not (d / name).is_file():
                raise InputError(f"checkpoint is incomplete: {name} is missing", path=d / name)
        wp, tp = d / "weights.pt", d / "trainer.pt"
        weights = check_state_dict(load_torch_file(wp, map_location=self.device), wp)
        st = load_torch_file(tp, map_location="cpu")
        missing = sorted(TRAINER_STATE_KEYS - set(st)) if isinstance(st, dict) else None
        if missing is None or missing:
            what = f"lacks {', '.join(missing)}" if missing else f"holds a {type(st).__name__}"
            raise InputError(f"file is corrupt or not an mltl checkpoint (it {what})", path=tp)
        if st.get("mltl_version") != __version__:
            raise InputError(f"checkpoint was written by mltl {st.get('mltl_version')}, this is {__version__}", path=d)
        try:
            self.net.load_state_dict(weights)
        except RuntimeError as exc:
            raise InputError(f"checkpoint does not fit this run's model: {str(exc).splitlines()[0]}", path=wp) from None
        try:
            self.load_state_dict(st)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
            raise InputError(
                f"checkpoint does not fit this run ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]})",
                path=tp,
            ) from None

    def metrics(self, scores: dict[str, float] | None = None) -> dict[str, Any]:
        tgt = self.cfg.data.target
        zero = "target" not in self.data.dev and tgt not in self.data.train
        return {
            "task": self.cfg.task,
            "metric": self.task.metric_name,
            "sources": self.cfg.data.sources,
            "target": self.cfg.data.target,
            "zero_resource": zero,
            "selection": "target dev (NOT zero-resource)" if "target" in self.data.dev else "mean source dev",
            "target_train": len(self.data.train[tgt]) if tgt in self.data.train else 0,
            "best_score": None if self.best_score == -math.inf else self.best_score,
            "best_step": self.best_step,
            "steps": self.step,
            "dev": scores or {},
            "world_size": self.world.size,
            "mltl_version": __version__,
        }

    def save_model(self, name: str, scores: dict[str, float] | None = None) -> None:
        if self.out_dir is not None and self.world.is_main:
            self.model.save(self.out_dir / name, self.metrics(scores), force=True)

    # ---------------------------------------------------------------- the loop
    def _install_sigint(self):
        """First Ctrl-C: finish the iteration, checkpoint, stop. Second: abort now.

        The CLI's SIGTERM handler (:mod:`mltl.signals`) calls this same handler with
        ``signal.SIGTERM``: the same stop, named for the signal that asked for it."""
        if self.out_dir is None:
            return None
        try:

            def handler(signum, frame):  # noqa: ARG001
                if self.stop_requested:
                    raise KeyboardInterrupt
                self.stop_requested = True
                if signum == signal.SIGTERM:
                    log.info(
                        "SIGTERM: saving a checkpoint after this iteration, then stopping "
                        "(SIGTERM or Ctrl-C again to abort)"
                    )
                else:
                    log.info("interrupt: saving a checkpoint after this iteration (Ctrl-C again to abort)")

            return signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread
            return None

    def fit(self) -> TrainResult:
        """Train until max steps / epochs / patience; saves model-best and model-last."""
        import torch

        try:
            with deterministic_on_cpu(self.device):
                result = self._fit()
            if self._joined:
                # Rank 0 still writes model-best/-last and metrics after the last step; a rank that
                # tore its gloo group down meanwhile was seen to abort (SIGABRT) in CI: meet first.
                distributed.barrier(self.world)
            return result
        finally:
            torch.set_num_threads(self._threads_before)
            distributed.shutdown(self._joined)

    def _fit(self) -> TrainResult:
        import torch

        t = self.cfg.training
        total = t.max_steps if t.max_steps else t.max_epochs * self.steps_per_epoch
        total = min(total, t.max_epochs * self.steps_per_epoch)
        if t.max_steps > total and self.world.is_main:
            # "whichever comes first", as in spaCy; said aloud because a long --max-steps with
            # the default 30 evaluations once cut 24,000-step benchmark runs at 15,000 unseen
            log.warning(
                f"--max-steps {t.max_steps:,} is past --max-epochs {t.max_epochs} × {self.steps_per_epoch:,} "
                f"iterations per epoch: training stops at step {total:,} at the latest "
                f"(--max-epochs {math.ceil(t.max_steps / self.steps_per_epoch)} reaches step {t.max_steps:,})"
            )
        stats = _zero_stats()
        t_start = time.perf_counter()
        t_last = t_start
        old_handler = self._install_sigint()
        interrupted = False
        scores: dict[str, float] = {}
        tty = sys.stderr.isatty() and not log.is_quiet() and self.world.is_main
        progress = log.progress() if tty else None
        task_id = None
        if progress is not None:
            progress.start()
            task_id = progress.add_task("training", total=total, completed=self.step)
        self.net.train()
        try:
            while self.step < total:
                try:
                    self.iteration(stats)
                except torch.cuda.OutOfMemoryError:
                    raise InputError(
                        f"out of GPU memory at batch size {t.batch_size}; try --batch-size {max(1, t.batch_size // 2)}"
                    ) from None
                self.step += 1
                stats["steps"] += 1
                if self.world.active:  # a signal to any rank stops all of them after this step
                    self.stop_requested = distributed.any_rank(self.stop_requested, self.world, self.device)
                if self.on_step is not None:
                    self.on_step(self)
                if progress is not None:
                    progress.update(task_id, completed=self.step, description=_describe(self, stats, t_last))
                end_epoch = self.step % self.steps_per_epoch == 0 or self.step == total
                if end_epoch:
                    t_eval = time.perf_counter()
                    stats = self._sum_stats(stats)  # all ranks' losses and tokens
                    early_stop = False
                    if self.world.is_main:  # rank 0 alone evaluates, logs and writes
                        scores = self.evaluate()
                        score = self.selection_score(scores)
                        now = time.perf_counter()
                        # tokens/s over training iterations only (as fairseq's wps); eval apart
                        rec = _record(self, stats, scores, score, t_eval - t_last, now - t_start)
                        rec["eval_seconds"] = round(now - t_eval, 3)
                        self.history.append(rec)
                        improved = score > self.best_score
                        if improved:
                            self.best_score, self.best_step, self.bad_evals = score, self.step, 0
                            self.save_model("model-best", scores)
                        else:
                            self.bad_evals += 1
                        self._log(rec, improved)
                        early_stop = bool(t.patience and self.bad_evals >= t.patience)
                        if early_stop:
                            log.info(f"early stop: no improvement for {t.patience} evaluations")
                    if distributed.from_main(early_stop, self.world, self.device):
                        total = self.step
                    stats, t_last = _zero_stats(), time.perf_counter()
                if (t.checkpoint_every and self.step % t.checkpoint_every == 0) or end_epoch:
                    self.save_checkpoint()
                if self.stop_requested:
                    interrupted = True
                    self.save_checkpoint()
                    break
        finally:
            if progress is not None:
                progress.stop()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        if not self.world.is_main:  # rank 0 writes model-last, evaluates the target, reports
            return TrainResult(self.model, self.out_dir, {}, interrupted, self.step, self.history)
        if not scores:
            scores = self.evaluate()
        self.save_model("model-last", scores)
        best = self.model
        if self.out_dir is not None and (self.out_dir / "model-best").is_dir():
            from mltl.models.model import load_model

            best = load_model(self.out_dir / "model-best", device=str(self.device))
        metrics = self.metrics(scores)
        metrics["target_eval"] = self._target_eval(best)
        metrics["interrupted"] = interrupted
        if self.out_dir is not None:
            with atomic_file(self.out_dir / "metrics.json") as f:
                f.write(json.dumps(metrics, indent=2) + "\n")
        return TrainResult(best, self.out_dir, metrics, interrupted, self.step, self.history)

    def _sum_stats(self, stats: dict[str, float]) -> dict[str, float]:
        """The step statistics summed over the ranks; the losses averaged (one process: as is)."""
        if not self.world.active:
            return stats
        keys = list(stats)
        summed = dict(zip(keys, distributed.all_sum([float(stats[k]) for k in keys], self.world, self.device)))
        for k in ("J", "J_C", "J_D", "J_G1", "J_G2", "steps"):
            summed[k] /= self.world.size
        return summed

    def _target_eval(self, model) -> dict[str, Any]:
        """Target dev/test scores of the best model: reported, never used for selection."""
        out = {}
        for split, (corpus, gold) in self.data.target_eval.items():
            pred = model.predict_corpus(corpus, self.cfg.training.eval_batch_size)
            key = self.task.pred_key
            out[split] = self.task.score(gold, [p[key] for p in pred], self.data.scheme)
        return out

    def _log(self, rec: dict[str, Any], improved: bool) -> None:
        if self.out_dir is not None:
            with open(self.out_dir / "train_log.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        devs = " ".join(f"{k}={v:.4f}" for k, v in rec["dev"].items())
        dacc = f" D_acc={rec['D_acc']:.3f}" if rec["D_acc"] is not None else ""
        log.info(
            f"epoch {rec['epoch']} step {rec['step']}: J_C={rec['J_C']:.4f} J_D={rec['J_D']:.4f} "
            f"J_G1={rec['J_G1']:.4f} J_G2={rec['J_G2']:.4f}{dacc} dev {devs} "
            f"score={rec['score']:.4f}{' *' if improved else ''} {rec['tokens_per_s']:.0f} tok/s"
        )


def _zero_stats() -> dict[str, float]:
    return {
        "J": 0.0,
        "J_C": 0.0,
        "J_D": 0.0,
        "J_G1": 0.0,
        "J_G2": 0.0,
        "d_correct": 0,
        "d_total": 0,
        "tokens": 0,
        "steps": 0,
    }


def _describe(tr: Trainer, stats: dict[str, float], t0: float) -> str:
    n = max(stats["steps"], 1)
    el = max(time.perf_counter() - t0, 1e-9)
    d = f" D_acc {stats['d_correct'] / stats['d_total']:.2f}" if stats["d_total"] else ""
    best = f" best {tr.best_score:.3f}" if tr.best_score > -math.inf else ""
    return (
        f"epoch {tr.step // tr.steps_per_epoch + 1} J_C {stats['J_C'] / n:.3f}{d}"
        f" {stats['tokens'] / el:.0f} tok/s{best}"
    )


def _record(
    tr: Trainer, stats: dict[str, float], scores: dict[str, float], score: float, secs: float, total_secs: float
) -> dict[str, Any]:
    n = max(stats["steps"], 1)
    ns = len(tr.cfg.data.sources)
    return {
        "epoch": math.ceil(tr.step / tr.steps_per_epoch),
        "step": tr.step,
        "J": stats["J"] / n,
        "J_C": stats["J_C"] / n / ns,
        "J_D": stats["J_D"] / n,
        "J_G1": stats["J_G1"] / n / ns,
        "J_G2": stats["J_G2"] / n / ns,
        "D_acc": stats["d_correct"] / stats["d_total"] if stats["d_total"] else None,
        "dev": scores,
        "score": score,
        "tokens_per_s": stats["tokens"] / max(secs, 1e-9),
        "seconds": total_secs,
        **_gpu_memory(tr.device),
    }


def _gpu_memory(device) -> dict[str, float]:
    """Peak GPU memory held by tensors so far (MiB), on CUDA only: the number to size batches by."""
    if device.type != "cuda":
        return {}
    import torch

    return {"gpu_peak_mib": round(torch.cuda.max_memory_allocated(device) / 2**20, 1)}


# ------------------------------------------------------------------------ API
def prepare_output(out: Path, force: bool) -> None:
    if out.exists():
        if not out.is_dir():
            raise InputError("output path exists and is not a directory", path=out)
        if any(out.iterdir()) and not force:
            raise InputError(
                "output directory exists; pass --force to overwrite it or --resume to continue it", path=out
            )
        if force:
            import shutil

            for name in ("model-best", "model-last", CHECKPOINT, "train_log.jsonl", "metrics.json", "config.json"):
                p = out / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def train(
    cfg: TrainConfig, out_dir: str | Path | None = None, *, force: bool = False, on_step: Callable | None = None
) -> TrainResult:
    """Train MAN-MoE as configured; the Python face of ``mltl train``.

    All input is read and checked before ``out_dir`` is touched. With ``out_dir``
    None nothing is written (notebook use); ``result.model`` is the best model.
    """
    from mltl.config import components
    from mltl.registry import provenance
    from mltl.training.data import load_run_data

    # The data first: its checks need neither torch nor the heads (a wrong path fails in a
    # second, not after importing torch). Then task, head and encoder by name (built-in or
    # plugin); the plugin packages are recorded in config.json so a model can say which one
    # to install.
    data = load_run_data(cfg)
    cfg.plugins = provenance(components(cfg))
    for w in data.warnings:
        log.warning(w)
    out = Path(out_dir) if out_dir is not None else None
    # The network and its device are built before anything is written: a device that is
    # not here or an option the model rejects leaves no half-made run directory behind.
    tr = Trainer(cfg, data, out, on_step=on_step)
    if out is None or not tr.world.is_main:  # under torchrun rank 0 alone owns the directory
        return _start(tr)
    with run_lock(out):  # a second run on the same directory stops here, before writing
        prepare_output(out, force)
        with atomic_file(out / "config.json") as f:
            f.write(cfg.to_json() + "\n")
        return _start(tr)


def _start(tr: Trainer) -> TrainResult:
    cfg = tr.cfg
    log.info(
        f"training {cfg.model.arch} ({cfg.task}) {','.join(cfg.data.sources)} → {cfg.data.target} on "
        f"{tr.device}: {tr.steps_per_epoch} iterations per epoch"
        + (
            f"; + {len(tr.data.train[cfg.data.target]):,} labeled target sentences (NOT zero-resource)"
            if cfg.data.target in tr.data.train
            else ""
        )
    )
    return tr.fit()


# [training] keys a --resume may change: how long and where it runs, not what it trains
RESUMABLE = frozenset({"max_epochs", "max_steps", "patience", "device", "threads", "checkpoint_every"})


def resume(
    out_dir: str | Path, overrides: dict[str, Any] | None = None, *, on_step: Callable | None = None
) -> TrainResult:
    """Continue a run from ``out_dir/checkpoint``; same seed on CPU = same final weights.

    ``overrides`` may change only ``training.max_epochs``/``max_steps``/``patience``
    (and the device): anything else would no longer be the same run.
    """
    from mltl.config import replace
    from mltl.training.data import load_run_data

    out = Path(out_dir)
    cp = out / "config.json"
    if not cp.is_file():
        raise InputError("not a training directory (config.json missing)", path=cp)
    over = {k: v for k, v in (overrides or {}).items() if v is not None}
    bad = set(over) - RESUMABLE
    if bad:
        raise InputError(f"--resume continues a run as configured; cannot change {', '.join(sorted(bad))}")
    # under torchrun rank 0 alone locks and rewrites the directory; the others only read it
    with run_lock(out) if distributed.world().is_main else contextlib.nullcontext():
        try:
            cfg = config_from_json(cp.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError) as exc:
            raise InputError(f"corrupt config ({exc})", path=cp) from None
        if over:
            cfg = replace(cfg, training=over)
        ck = out / CHECKPOINT
        if not ck.is_dir():
            raise InputError("no checkpoint to resume from", path=ck)
        data = load_run_data(cfg)
        tr = Trainer(cfg, data, out, on_step=on_step)
        tr.load_checkpoint(ck)
        # Only a run that can continue records its new limits: a failed --resume leaves
        # the directory as it was.
        if over and tr.world.is_main:
            with atomic_file(cp) as f:
                f.write(cfg.to_json() + "\n")
        log.info(f"resuming at step {tr.step}")
        return tr.fit()
