"""`mltl align`: map several languages' vectors into the hub language's space."""

from __future__ import annotations

from typing import Any, List

import typer

from mltl.cli.options import given, with_settings
from mltl.embeddings.align_config import AlignConfig, AlignJob

SECTIONS = [("job", AlignJob), ("config", AlignConfig)]  # flags, help and defaults: mltl.embeddings.align


def register(app: typer.Typer) -> None:
    @app.command("align")
    @with_settings(*SECTIONS)
    def align(
        files: List[str] = typer.Argument(
            ..., help="Vector files (.vec, .bin, .npy or compact directory), one per language, hub included."
        ),
        output: str = typer.Option(
            ..., "--output", "-o", help="Output directory: LANG.vec (or --out-format) per language + alignment.json."
        ),
        force: bool = typer.Option(False, "--force", help="Replace an existing output directory."),
        json_out: bool = typer.Option(False, "--json", help="Print alignment.json to stdout too."),
        **settings: Any,
    ) -> None:
        """Map every language's vectors into the hub's space with orthogonal maps
        (Procrustes + CSLS self-learning; fully unsupervised by default).

        Examples:

          mltl align --hub en vectors/en.vec vectors/de.vec vectors/es.vec -o aligned/

          mltl align --hub en en.vec de.vec --method supervised --dict dicts/ --eval-dict dicts/ -o aligned/
        """
        import json

        from mltl.embeddings.align import run_align

        opts = given(settings, SECTIONS)
        report = run_align(
            files, output, AlignJob(**opts.get("job", {})), AlignConfig(**opts.get("config", {})), force=force
        )
        if json_out:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
            return
        for p in report["pairs"]:
            line = (
                f"{p['src']}->{p['tgt']}: {p['method']}, seed {p['seed_pairs']} pairs, "
                f"{p['iterations']} iterations, final dictionary "
                f"{p['dictionary_sizes'][-1] if p['dictionary_sizes'] else p['seed_pairs']} pairs, "
                f"{p['seconds']:.1f} s"
            )
            bli = report.get("bli", {}).get(p["src"])
            if bli:
                line += f"; BLI P@1 nn {bli['nn']['p@1']:.1f} csls {bli['csls']['p@1']:.1f} ({bli['queries']} queries)"
            typer.echo(line)
        typer.echo(f"wrote {output}/ ({report['seconds']:.1f} s)")
