"""`mltl embed`: raw text of one language -> fastText vectors (.bin + .vec)."""
from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("embed")
    def embed(
        files: List[str] = typer.Argument(..., help="Raw text files ('-' = stdin), man pages (roff), or "
                                                    "unlabeled.jsonl from `mltl prepare`."),
        output: str = typer.Option(..., "--output", "-o", help="Output prefix: writes PREFIX.bin and PREFIX.vec."),
        lang: str = typer.Option(..., "--lang", "-l", help="ISO language code of the text (tokenizer)."),
        fmt: str = typer.Option("auto", "--format", "-f", help="auto | text | roff | jsonl (auto: .jsonl "
                                "is JSONL, files under a man/ directory are roff)."),
        tokenizer: str = typer.Option("spacy", "--tokenizer", help="spacy | whitespace | sentencepiece "
                                      "(same tokenizers as `mltl prepare`)."),
        sp_model: Optional[str] = typer.Option(None, "--sp-model", help="sentencepiece model; without it one "
                                               "is trained and written as PREFIX.sp.model."),
        encoding: str = typer.Option("utf-8", "--encoding", help="Encoding of text and roff inputs "
                                     "(JSONL is always UTF-8)."),
        lowercase: bool = typer.Option(False, "--lowercase", help="Lowercase tokens before training."),
        model: str = typer.Option("skipgram", "--model", help="skipgram | cbow."),
        dim: int = typer.Option(300, "--dim", help="Vector dimension."),
        min_count: int = typer.Option(5, "--min-count", help="Ignore words rarer than this."),
        epoch: int = typer.Option(5, "--epoch", help="Training epochs."),
        lr: float = typer.Option(0.05, "--lr", help="Learning rate."),
        ws: int = typer.Option(5, "--ws", help="Context window size."),
        minn: int = typer.Option(3, "--minn", help="Min character n-gram length (0 = no subwords)."),
        maxn: int = typer.Option(6, "--maxn", help="Max character n-gram length."),
        bucket: Optional[int] = typer.Option(None, "--bucket", help="Hash buckets for character n-grams; the "
                                             ".bin holds (words + bucket) x dim floats. Default: sized to the "
                                             "corpus, 20 per word with count >= --min-count, at least 10,000 "
                                             "and at most 2,000,000 (fastText's default)."),
        threads: int = typer.Option(1, "--threads", help="Training threads; 0 = all cores. More threads are "
                                    "faster, but fastText's threads update the vectors without locks, so only "
                                    "--threads 1 gives the same vectors twice for a --seed."),
        seed: int = typer.Option(0, "--seed", help="Random seed (with --threads 1, the same seed gives the "
                                 "same vectors)."),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    ) -> None:
        """Train monolingual fastText vectors on text tokenized as `mltl prepare` does.

        Examples:

          mltl embed --lang de corpus.txt -o vectors/de

          mltl embed --lang de data/de/unlabeled.jsonl --dim 100 --min-count 3 -o vectors/de

          zcat /usr/share/man/de/man1/*.gz | mltl embed --lang de --format roff - -o vectors/de
        """
        import json

        from mltl import log
        from mltl.embeddings.train import EmbedConfig, train_embeddings
        from mltl.langs import check_lang

        lang = check_lang(lang)
        cfg = EmbedConfig(model=model, dim=dim, min_count=min_count, epoch=epoch, lr=lr, ws=ws,
                          minn=minn, maxn=maxn, bucket=bucket, threads=threads, seed=seed)
        with log.progress() as prog:
            prog.add_task(f"embed {lang}", total=None)
            summary = train_embeddings(files, output, lang, cfg, lowercase=lowercase, tokenizer=tokenizer,
                                       fmt=fmt, sp_model=sp_model, encoding=encoding)
        if json_out:
            typer.echo(json.dumps(summary, ensure_ascii=False))
        else:
            typer.echo(f"{summary['bin']}, {summary['vec']}: {summary['vocab']:,} words x {dim} from "
                       f"{summary['tokens']:,} tokens in {summary['seconds']:.1f} s")
