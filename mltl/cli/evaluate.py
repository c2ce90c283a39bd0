"""`mltl evaluate`: BLI of aligned vectors (`mltl evaluate bli ...`); model evaluation to come."""
from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        files: List[str] = typer.Argument(..., help="`bli SRC_VECTORS TGT_VECTORS` for word translation; "
                                                    "otherwise test files for --model."),
        model: Optional[str] = typer.Option(None, "--model", help="Model directory (model evaluation)."),
        gold: Optional[str] = typer.Option(None, "--gold", help="Gold file (model evaluation)."),
        src: Optional[str] = typer.Option(None, "--src", help="BLI: source language code."),
        tgt: Optional[str] = typer.Option(None, "--tgt", help="BLI: target language code."),
        dictionary: Optional[str] = typer.Option(None, "--dict", help="BLI: test dictionary (MUSE format "
                                                 "'src tgt' per line), or a directory with SRC-TGT*.txt."),
        max_vocab: Optional[int] = typer.Option(200000, "--max-vocab", help="BLI: keep the N most frequent "
                                                "words of each side."),
        csls_k: int = typer.Option(10, "--csls-k", help="BLI: CSLS neighbourhood size."),
        csls_pool: int = typer.Option(10000, "--csls-pool", help="BLI: source words measuring target "
                                      "hubness (0 = all: exact, slow on big vocabularies)."),
        csls_candidates: int = typer.Option(100, "--csls-candidates", help="BLI: cosine candidates CSLS "
                                            "re-ranks per query (0 = all targets)."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Evaluate aligned vectors by bilingual lexicon induction (BLI).

        Examples:

          mltl evaluate bli --src de --tgt en aligned/de.vec aligned/en.vec --dict de-en.test.txt

          mltl evaluate bli aligned/de.vec aligned/en.vec --dict de-en.test.txt --json
        """
        import json

        from mltl.errors import InputError

        if files and files[0] == "bli":
            if len(files) != 3:
                raise InputError("usage: mltl evaluate bli SRC_VECTORS TGT_VECTORS --dict FILE")
            if dictionary is None:
                raise InputError("mltl evaluate bli needs --dict (a MUSE-format test dictionary)")
            from mltl.embeddings.bli import run_bli
            from mltl.embeddings.dictionary import find_dictionary
            from mltl.embeddings.vectors import lang_of

            s = src or lang_of(files[1])
            t = tgt or lang_of(files[2])
            result = run_bli(files[1], files[2], find_dictionary(dictionary, s, t, prefer="test"),
                             src_lang=s, tgt_lang=t, max_vocab=max_vocab, csls_k=csls_k,
                             csls_pool=csls_pool or None, csls_candidates=csls_candidates or None)
            if json_out:
                typer.echo(json.dumps(result, ensure_ascii=False))
            else:
                print_bli(result)
            return
        if model is None and gold is None:
            raise InputError("give `bli SRC TGT --dict FILE` to evaluate vectors, or --model DIR "
                             "to evaluate a model")
        raise InputError("model evaluation is not available in this version of mltl yet")


def print_bli(result: dict) -> None:
    """A small table: P@1/5/10 per retrieval method, then coverage."""
    from rich.table import Table

    from mltl.log import stdout_console

    title = f"BLI {result.get('src') or 'src'} -> {result.get('tgt') or 'tgt'}"
    table = Table(title=title)
    table.add_column("retrieval")
    ks = [k for k in result["nn"]] if "nn" in result else []
    for k in ks:
        table.add_column(k.upper(), justify="right")
    for method in ("nn", "csls"):
        if method in result:
            table.add_row(method.upper(), *(f"{v:.2f}" for v in result[method].values()))
    con = stdout_console()
    con.print(table)
    con.print(f"{result['queries']} queries; coverage {result['coverage']:.1f}% of "
              f"{result['source_words_in_dictionary']} dictionary source words "
              f"({result['pairs_in_vocab']} of {result['pairs_total']} pairs in vocabulary); "
              f"{result['seconds']:.2f} s")
