"""`mltl train`: MAN-MoE training from the command line (a thin face over mltl.training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from mltl.cli.options import given, with_settings
from mltl.config import TASK_DEFAULTS, DataConfig, ModelConfig, TrainConfig, TrainingConfig

_HELP = """Train a tagger or classifier on labeled SOURCE languages for a TARGET language
that has unlabeled text only (MAN-MoE, Chen et al. 2019, Algorithm 1).

Writes OUT/model-best/ (best mean source dev score), OUT/model-last/, OUT/checkpoint/
(for --resume), OUT/train_log.jsonl and OUT/metrics.json. Precedence of settings:
built-in defaults < task defaults < --config TOML < flags < --set KEY=VALUE.

Example: mltl train --task tagging --sources en,es,zh --target de --data data/ --vectors aligned/ -o models/de
"""


# Every setting's flag, help and default come from the config dataclasses (mltl.config).
SECTIONS = [(None, TrainConfig), ("data", DataConfig), ("model", ModelConfig), ("training", TrainingConfig)]


def register(app: typer.Typer) -> None:
    @app.command("train", help=_HELP)
    @with_settings(*SECTIONS, task_defaults=TASK_DEFAULTS)
    def train(
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output directory of the run."),
        config: Optional[Path] = typer.Option(
            None,
            "--config",
            "-c",
            help="TOML config (see docs/training.md), or a run's config.json to repeat it with changes.",
        ),
        set_: List[str] = typer.Option([], "--set", help="Dotted override, e.g. training.batch_size=32 (repeatable)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the merged config as JSON and exit."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing output directory."),
        resume: Optional[Path] = typer.Option(
            None, "--resume", help="Continue the run in this directory from its checkpoint."
        ),
        **settings: Any,
    ) -> None:
        from mltl import config as C
        from mltl.errors import InputError

        cli = given(settings, SECTIONS)

        if resume is not None:
            if output is not None and Path(output).resolve() != Path(resume).resolve():
                raise InputError("give either --resume DIR or -o DIR, not two different directories")
            from mltl.training.trainer import RESUMABLE

            extra = [
                f"{s}.{k_}"
                for s, v in cli.items()
                if isinstance(v, dict)
                for k_ in v
                if not (s == "training" and k_ in RESUMABLE)
            ] + [s for s, v in cli.items() if not isinstance(v, dict)]
            if extra or config or set_:
                flags = ", ".join("--" + k_.replace("_", "-") for k_ in sorted(RESUMABLE))
                raise InputError(
                    f"--resume continues a run exactly as configured; only {flags} may change "
                    f"(got: {', '.join(extra) or '--config/--set'})"
                )
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


def _finish(result, out: Path) -> None:
    from mltl import log
    from mltl.distributed import world

    m = result.metrics
    if result.interrupted:
        if world().is_main:
            log.error(f"interrupted at step {result.steps}; checkpoint saved. Continue with: mltl train --resume {out}")
        raise typer.Exit(130)
    if not world().is_main:  # rank 0 reports for the job
        return
    best = m.get("best_score")
    sel = m.get("selection")
    line = (
        f"{out}/model-best: {m.get('metric')} {best:.4f} ({sel}) at step {m.get('best_step')}"
        if best is not None
        else f"{out}/model-last: no evaluation"
    )
    tgt = m.get("target_eval") or {}
    if tgt:
        line += "; target " + ", ".join(f"{k} {v:.4f}" for k, v in tgt.items())
    if m.get("target_train"):
        line += f"; trained on {m['target_train']:,} labeled target sentences (NOT zero-resource)"
    typer.echo(line)
