"""`mltl embed`: raw text of one language -> fastText vectors (.bin + .vec)."""

from __future__ import annotations

from typing import Any, List

import typer

from mltl.cli.options import given, with_settings
from mltl.embeddings.embed_config import EmbedConfig, TextInput

SECTIONS = [("text", TextInput), ("fasttext", EmbedConfig)]  # flags, help, defaults: mltl.embeddings.embed_config


def register(app: typer.Typer) -> None:
    @app.command("embed")
    @with_settings(*SECTIONS)
    def embed(
        files: List[str] = typer.Argument(
            ...,
            help="Raw text files ('-' = stdin), man pages (roff), HTML pages, or unlabeled.jsonl from `mltl prepare`.",
        ),
        output: str = typer.Option(..., "--output", "-o", help="Output prefix: writes PREFIX.bin and PREFIX.vec."),
        lang: str = typer.Option(..., "--lang", "-l", help="ISO language code of the text (tokenizer)."),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
        **settings: Any,
    ) -> None:
        """Train monolingual fastText vectors on text tokenized as `mltl prepare` does.

        Examples:

          mltl embed --lang de corpus.txt -o vectors/de

          mltl embed --lang de data/de/unlabeled.jsonl --dim 100 --min-count 3 -o vectors/de

          zcat /usr/share/man/de/man1/*.gz | mltl embed --lang de --format roff - -o vectors/de
        """
        import json

        from mltl import log
        from mltl.embeddings.train import train_embeddings
        from mltl.langs import check_lang

        lang = check_lang(lang)
        opts = given(settings, SECTIONS)
        cfg = EmbedConfig(**opts.get("fasttext", {}))
        with log.progress() as prog:
            prog.add_task(f"embed {lang}", total=None)
            summary = train_embeddings(files, output, lang, cfg, TextInput(**opts.get("text", {})))
        if json_out:
            typer.echo(json.dumps(summary, ensure_ascii=False))
        else:
            typer.echo(
                f"{summary['bin']}, {summary['vec']}: {summary['vocab']:,} words x {cfg.dim} from "
                f"{summary['tokens']:,} tokens in {summary['seconds']:.1f} s"
            )
