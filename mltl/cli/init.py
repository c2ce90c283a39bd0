"""`mltl init config`: a complete, commented training config to start from (like `spacy init config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

_HELP = """Write a complete, commented training config.

Every key is at its default (the task's defaults included), under a comment saying what it
does. Edit it, then train with `mltl train --config FILE`; `mltl train --config FILE
--dry-run` prints it back as JSON.

Example: mltl init config --task tagging --sources en,es --target de --data data/ --vectors aligned/ > train.toml
"""


_LS_HELP = """Write a Label Studio labeling config (XML) for a model's labels.

Paste it into the project's Settings > Labeling Interface (or pass it as `label_config` to the
SDK): `mltl predict --format labelstudio` tasks then import with their predictions shown.

Example: mltl init labelstudio --model models/de/model-best > ner.xml
"""


def register(app: typer.Typer) -> None:
    from mltl.cli import _Command  # the root's command class: boolean flags shown without a type

    init = typer.Typer(
        help="Create starting files (a training config, a Label Studio labeling config).",
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.add_typer(init, name="init")

    @init.command("config", help=_HELP, cls=_Command)
    def init_config(
        task: str = typer.Option("tagging", "--task", "-t", help="tagging | classification | a plugin's task."),
        sources: Optional[str] = typer.Option(None, "--sources", help="Comma-separated labeled source languages."),
        target: Optional[str] = typer.Option(None, "--target", help="Target language (unlabeled text only)."),
        data: Optional[str] = typer.Option(None, "--data", help="Directory of `mltl prepare` outputs."),
        vectors: Optional[str] = typer.Option(None, "--vectors", help="Directory of aligned vectors."),
        arch: Optional[str] = typer.Option(None, "--arch", help="man_moe | man | bwe."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing --output file."),
    ) -> None:
        from mltl import __version__
        from mltl.config import merge
        from mltl.config_toml import render_toml
        from mltl.errors import InputError
        from mltl.files import STDIO, atomic_file

        layer: dict = {"task": task, "data": {}, "model": {}}
        if sources:
            layer["data"]["sources"] = [s.strip() for s in sources.split(",") if s.strip()]
        for key, value in (("target", target), ("data", data), ("vectors", vectors)):
            if value is not None:
                layer["data"][key] = value
        if arch is not None:
            layer["model"]["arch"] = arch
        cfg = merge(layer)
        header = (
            f"mltl {__version__} training config (`mltl init config`). Train with:\n"
            "  mltl train --config THIS_FILE -o OUT_DIR\n"
            "Flags given to `mltl train` override these values; docs/training.md explains each."
        )
        text = render_toml(cfg, header)
        if output is not None and output.exists() and not force:
            raise InputError("file exists; pass --force to overwrite it", path=output)
        with atomic_file(output if output is not None else STDIO) as f:
            f.write(text)

    @init.command("labelstudio", help=_LS_HELP, cls=_Command)
    def init_labelstudio(
        model_dir: str = typer.Option(..., "--model", "-m", help="Model directory (or installed model package)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing --output file."),
    ) -> None:
        from mltl.data import schemes
        from mltl.data.labelstudio import labeling_config
        from mltl.errors import InputError
        from mltl.files import STDIO, atomic_file
        from mltl.models.model import read_labels, resolve_model_dir

        labels, scheme = read_labels(resolve_model_dir(model_dir))
        token_level = scheme is not None
        names = sorted(schemes.entity_types(labels)) if scheme == "bio" else [x for x in labels if x != "O"]
        if output is not None and output.exists() and not force:
            raise InputError("file exists; pass --force to overwrite it", path=output)
        with atomic_file(output if output is not None else STDIO) as f:
            f.write(labeling_config(names, token_level))
