"""`mltl train`: MAN-MoE training from the command line (a thin face over mltl.training)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

# Task-dependent defaults (Appendix B, Table 6) shown in --help; the values live in mltl.config.
_TD = "\\[default: tagging {t}, classification {c}]"

_HELP = """Train a tagger or classifier on labeled SOURCE languages for a TARGET language
that has unlabeled text only (MAN-MoE, Chen et al. 2019, Algorithm 1).

Writes OUT/model-best/ (best mean source dev score), OUT/model-last/, OUT/checkpoint/
(for --resume), OUT/train_log.jsonl and OUT/metrics.json. Precedence of settings:
built-in defaults < task defaults < --config TOML < flags < --set KEY=VALUE.

Example: mltl train --task tagging --sources en,es,zh --target de --data data/ --vectors aligned/ -o models/de
"""


def _langs(value: Optional[str]) -> Optional[list[str]]:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def register(app: typer.Typer) -> None:
    @app.command("train", help=_HELP)
    def train(
        task: Optional[str] = typer.Option(None, "--task", help="tagging | classification | a plugin's task (see "
                                                                "`mltl plugins`) \\[default: tagging]"),
        head: Optional[str] = typer.Option(None, "--head", help="Predictor C by registry name, e.g. crf from the "
                                                                "mltl-crf plugin \\[default: the task's]"),
        encoder: Optional[str] = typer.Option(None, "--encoder", help="Fs/Fp feature extractor by registry name "
                                                                      "\\[default: bilstm]"),
        sources: Optional[str] = typer.Option(None, "--sources", help="Comma-separated labeled source languages."),
        target: Optional[str] = typer.Option(None, "--target", help="Target language (unlabeled text only)."),
        unlabeled: Optional[str] = typer.Option(None, "--unlabeled",
                                                help="Extra comma-separated languages whose unlabeled text feeds D."),
        data: Optional[Path] = typer.Option(None, "--data", help="Directory of `mltl prepare` outputs: DATA/<lang>/."),
        vectors: Optional[Path] = typer.Option(None, "--vectors",
                                               help="Directory of aligned vectors: DIR/<lang>.vec (.bin, .npy)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output directory of the run."),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML config (see docs/training.md)."),
        set_: List[str] = typer.Option([], "--set", help="Dotted override, e.g. training.batch_size=32 (repeatable)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the merged config as JSON and exit."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing output directory."),
        resume: Optional[Path] = typer.Option(None, "--resume",
                                              help="Continue the run in this directory from its checkpoint."),
        device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N \\[default: auto]"),
        amp: Optional[bool] = typer.Option(None, "--amp/--no-amp", help="bfloat16 autocast on CUDA \\[default: off]"),
        threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch \\[default: torch's]"),
        seed: Optional[int] = typer.Option(None, "--seed", help="Random seed \\[default: 1]"),
        max_epochs: Optional[int] = typer.Option(None, "--max-epochs", "--epochs", help="\\[default: 30]"),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after N iterations; 0 = none "
                                                                          "\\[default: 0]"),
        steps_per_epoch: Optional[int] = typer.Option(None, "--steps-per-epoch",
                                                      help="Iterations between evaluations; 0 = one pass over the "
                                                           "largest source \\[default: 0]"),
        patience: Optional[int] = typer.Option(None, "--patience",
                                               help="Early stop after N evaluations without improvement; 0 = off "
                                                    "\\[default: 5]"),
        checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every",
                                                       help="Checkpoint every N iterations (and every epoch) "
                                                            "\\[default: 500]"),
        arch: Optional[str] = typer.Option(None, "--arch", help="man_moe | man (no MoE) | bwe (shared tagger, no MoE, "
                                                                "no D) \\[default: man_moe]"),
        c_moe: Optional[bool] = typer.Option(None, "--c-moe/--no-c-moe", help="MoE in the predictor C \\[default: on]"),
        fp_moe: Optional[bool] = typer.Option(None, "--fp-moe/--no-fp-moe",
                                              help="Private extractor Fp (BiLSTM + MoE) \\[default: on]"),
        adversary: Optional[bool] = typer.Option(None, "--adversary/--no-adversary",
                                                 help="Language discriminator D (MAN) \\[default: on]"),
        char_cnn: Optional[bool] = typer.Option(None, "--char-cnn/--no-char-cnn",
                                                help="CharCNN word features " + _TD.format(t="on", c="off")),
        lambda1: Optional[float] = typer.Option(None, "--lambda1", help="λ1, weight of −J_D " +
                                                _TD.format(t="1e-4", c="0.002")),
        lambda2: Optional[float] = typer.Option(None, "--lambda2", help="λ2, weight of the gate losses " +
                                                _TD.format(t="0.01", c="0.1")),
        k: Optional[int] = typer.Option(None, "--k", help="D steps per F/C step " + _TD.format(t="1", c="1")),
        share_d_batches: Optional[bool] = typer.Option(
            None, "--share-d-batches/--fresh-d-batches",
            help="The last D step reuses the unlabeled batches of the main step's −λ1·J_D term (Fs runs once on "
                 "them); --fresh-d-batches samples separately as Algorithm 1 is written \\[default: share]"),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Per language " +
                                                 _TD.format(t="16", c="16")),
        lr: Optional[float] = typer.Option(None, "--lr", help="Adam learning rate (Fs, Fp, C) \\[default: 0.001]"),
        d_lr: Optional[float] = typer.Option(None, "--d-lr", help="Adam learning rate of D \\[default: 0.001]"),
        weight_decay: Optional[float] = typer.Option(None, "--weight-decay", help="\\[default: 1e-8]"),
        dropout: Optional[float] = typer.Option(None, "--dropout", help="\\[default: 0.5]"),
        word_dropout: Optional[float] = typer.Option(None, "--word-dropout",
                                                     help="Replace words by <unk> in training \\[default: 0]"),
        hidden_size: Optional[int] = typer.Option(None, "--hidden-size", help="Fs BiLSTM size \\[default: 128]"),
        private_hidden_size: Optional[int] = typer.Option(None, "--private-hidden-size",
                                                          help="Fp BiLSTM / expert output size \\[default: 128]"),
        expert_hidden: Optional[int] = typer.Option(None, "--expert-hidden", help="Experts' hidden layer "
                                                                                  "\\[default: 128]"),
        layers: Optional[int] = typer.Option(None, "--layers", help="BiLSTM layers \\[default: 2]"),
        char_emb_size: Optional[int] = typer.Option(None, "--char-emb-size", help="\\[default: 50]"),
        expert_activation: Optional[str] = typer.Option(None, "--expert-activation",
                                                        help="Last activation of Fp's experts: tanh | relu | none "
                                                             "\\[default: tanh]"),
        detach_gate: Optional[bool] = typer.Option(None, "--detach-gate/--no-detach-gate",
                                                   help="Gates read detached features \\[default: off]"),
        lowercase_chars: Optional[bool] = typer.Option(None, "--lowercase-chars/--no-lowercase-chars",
                                                       help="Lowercase before the CharCNN \\[default: off]"),
        lowercase: Optional[str] = typer.Option(None, "--lowercase",
                                                help="Comma-separated languages looked up lowercased in their "
                                                     "vectors \\[default: none]"),
        d_text: Optional[str] = typer.Option(None, "--d-text", help="Text that feeds D: train | unlabeled | both "
                                                                    "\\[default: unlabeled]"),
        target_dev: Optional[Path] = typer.Option(None, "--target-dev",
                                                  help="Labeled target dev JSONL for model selection (metrics are "
                                                       "then marked NOT zero-resource)."),
        keep_vectors: Optional[int] = typer.Option(None, "--keep-vectors",
                                                   help="Top-N frequent vectors kept per language besides the words "
                                                        "seen in the data \\[default: 20000]"),
        float16: Optional[bool] = typer.Option(None, "--float16/--float32",
                                               help="Store the model's vectors as float16 \\[default: float32]"),
        strict: Optional[bool] = typer.Option(None, "--strict/--no-strict",
                                              help="Refuse sources whose label sets differ \\[default: union + "
                                                   "warning]"),
        max_unlabeled: Optional[int] = typer.Option(None, "--max-unlabeled",
                                                    help="Unlabeled sentences read per language \\[default: 50000]"),
    ) -> None:
        from mltl import config as C
        from mltl.errors import InputError

        cli = {
            "task": task,
            "data": {"sources": _langs(sources), "target": target, "unlabeled": _langs(unlabeled),
                     "data": str(data) if data else None, "vectors": str(vectors) if vectors else None,
                     "lowercase": _langs(lowercase), "d_text": d_text,
                     "target_dev": str(target_dev) if target_dev else None, "keep_vectors": keep_vectors,
                     "float16": float16, "strict_labels": strict, "max_unlabeled": max_unlabeled},
            "model": {"head": head, "encoder": encoder, "arch": arch, "c_moe": c_moe, "fp_moe": fp_moe,
                      "adversary": adversary, "char_cnn": char_cnn,
                      "char_emb_size": char_emb_size, "hidden_size": hidden_size,
                      "private_hidden_size": private_hidden_size, "expert_hidden": expert_hidden, "layers": layers,
                      "expert_activation": expert_activation, "detach_gate": detach_gate,
                      "lowercase_chars": lowercase_chars, "dropout": dropout, "word_dropout": word_dropout},
            "training": {"lambda1": lambda1, "lambda2": lambda2, "k": k, "share_d_batches": share_d_batches,
                         "batch_size": batch_size, "lr": lr,
                         "d_lr": d_lr, "weight_decay": weight_decay, "max_epochs": max_epochs,
                         "max_steps": max_steps, "steps_per_epoch": steps_per_epoch, "patience": patience,
                         "checkpoint_every": checkpoint_every, "seed": seed, "device": device, "amp": amp,
                         "threads": threads},
        }
        cli = _drop_none(cli)

        if resume is not None:
            if output is not None and Path(output).resolve() != Path(resume).resolve():
                raise InputError("give either --resume DIR or -o DIR, not two different directories")
            from mltl.training.trainer import RESUMABLE

            extra = [f"{s}.{k_}" for s, v in cli.items() if isinstance(v, dict) for k_ in v
                     if not (s == "training" and k_ in RESUMABLE)] + \
                [s for s, v in cli.items() if not isinstance(v, dict)]
            if extra or config or set_:
                flags = ", ".join("--" + k_.replace("_", "-") for k_ in sorted(RESUMABLE))
                raise InputError(f"--resume continues a run exactly as configured; only {flags} may change "
                                 f"(got: {', '.join(extra) or '--config/--set'})")
            if dry_run:
                typer.echo((Path(resume) / "config.json").read_text(encoding="utf-8"), nl=False)
                return
            from mltl.training import resume as do_resume

            result = do_resume(resume, cli.get("training", {}))
            _finish(result, resume)
            return

        layers_: list[dict] = []
        if config is not None:
            layers_.append(C.load_toml(config))
        layers_.append(cli)
        if set_:
            layers_.append(C.parse_set(set_))
        cfg = C.merge(*layers_)
        if dry_run:
            typer.echo(cfg.to_json())
            return
        if output is None:
            raise InputError("no output directory: pass -o DIR")
        from mltl.training import train as do_train

        result = do_train(cfg, output, force=force)
        _finish(result, output)


def _drop_none(d: dict) -> dict:
    out = {}
    for key, v in d.items():
        if isinstance(v, dict):
            v = _drop_none(v)
            if v:
                out[key] = v
        elif v is not None:
            out[key] = v
    return out


def _finish(result, out: Path) -> None:
    from mltl import log

    m = result.metrics
    if result.interrupted:
        log.error(f"interrupted at step {result.steps}; checkpoint saved. Continue with: mltl train --resume {out}")
        raise typer.Exit(130)
    best = m.get("best_score")
    sel = m.get("selection")
    line = (f"{out}/model-best: {m.get('metric')} {best:.4f} ({sel}) at step {m.get('best_step')}"
            if best is not None else f"{out}/model-last: no evaluation")
    tgt = m.get("target_eval") or {}
    if tgt:
        line += "; target " + ", ".join(f"{k} {v:.4f}" for k, v in tgt.items())
    typer.echo(line)
