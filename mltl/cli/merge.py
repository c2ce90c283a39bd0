"""`mltl merge`: join the parts of `mltl predict --shard I/N` into one output."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("merge")
    def merge(
        parts: List[Path] = typer.Argument(..., help="The part files of `mltl predict --shard I/N`, in any order."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)."),
    ) -> None:
        """Join the N parts of one sharded prediction, in input order, into one output.

        Each part's manifest (PART.shard.json, written by predict) says which shard it is;
        a missing, repeated or foreign part is refused before anything is written.

        Example:

          for i in 0 1 2 3; do mltl predict --model M big.txt --shard $i/4 -o parts/big.$i.jsonl & done; wait

          mltl merge parts/big.*.jsonl -o big.jsonl
        """
        from mltl import log
        from mltl.errors import InputError
        from mltl.files import STDIO, atomic_file
        from mltl.sharding import merge_outputs, order_shards

        ordered, summary = order_shards(parts)
        binary = summary["format"] == "spacy"
        if binary and output is None:
            raise InputError("the parts are spaCy DocBins: give -o FILE.spacy")
        with atomic_file(output if output else STDIO, "wb" if binary else "w") as o:
            merge_outputs(ordered, o, summary["format"])
        log.info(f"{summary['count']} parts, {summary['items']:,} items of {summary['input']} -> {output or 'stdout'}")
