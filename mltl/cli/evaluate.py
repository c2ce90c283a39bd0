"""`mltl evaluate`: BLI of aligned vectors (`mltl evaluate bli ...`); model evaluation to come."""
from __future__ import annotations

from typing import List, Optional

import typer

from mltl.device import DEFAULT_DEVICE, DEVICES


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        files: List[str] = typer.Argument(None, help="`bli SRC_VECTORS TGT_VECTORS` for word translation; "
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
        csls_candidates: int = typer.Option(50, "--csls-candidates", help="BLI: cosine candidates CSLS "
                                            "re-ranks per query (0 = all targets)."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
        pred: Optional[str] = typer.Option(None, "--pred", help="Predicted CoNLL file to score against "
                                           "--gold (no model needed)."),
        lang: Optional[str] = typer.Option(None, "--lang", "-l", help="Model evaluation: language of the "
                                           "test files (default: the model's target)."),
        input_format: Optional[str] = typer.Option(None, "--input-format", help="Model evaluation: conll | "
                                                   "conllu | jsonl (default: from the extension)."),
        plot: Optional[str] = typer.Option(None, "--plot", help="Model evaluation: bar chart of the average "
                                           "expert-gate weights (PNG/PDF/SVG)."),
        batch_size: int = typer.Option(256, "--batch-size", help="Model evaluation: sentences per batch."),
        device: str = typer.Option(DEFAULT_DEVICE, "--device", help=f"Model evaluation: {DEVICES}."),
        encoding: str = typer.Option("utf-8", "--encoding", help="Input encoding."),
    ) -> None:
        """Score a model on labeled test files (entity F1 / accuracy + expert-gate analysis),
        a predicted CoNLL file against a gold one, or aligned vectors by bilingual lexicon induction.

        Examples:

          mltl evaluate --model models/de/model-best test.conll --plot gates.png

          mltl evaluate --gold gold.conll --pred pred.conll --json

          mltl evaluate bli --src de --tgt en aligned/de.vec aligned/en.vec --dict de-en.test.txt

          mltl evaluate bli aligned/de.vec aligned/en.vec --dict de-en.test.txt --json
        """
        import json

        from mltl.errors import InputError

        if model is not None:
            from mltl.device import check_device

            check_device(device)   # before any file is read (the GPU itself is checked with the model)
        if plot and model is None:
            raise InputError("--plot draws the model's expert gates: it needs --model DIR and test files")
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
        from mltl import evaluation

        files = files or []
        if gold is not None or pred is not None:
            if gold is None or pred is None or files:
                raise InputError("give both --gold FILE and --pred FILE (and no other files)")
            report = evaluation.evaluate_files(gold, pred, encoding)
        elif model is not None:
            if not files:
                raise InputError("give the labeled test file(s) to evaluate --model on")
            if plot:
                evaluation.plot_format(plot)   # a bad --plot name fails now, not after the evaluation
            from mltl.models.model import load_model
            from mltl.text.tokenize import get_tokenizer

            m = load_model(model, device=device)
            language = lang or m.config.data.target
            m.check_lang(language)
            from mltl.registry import get_task

            # raw-text documents are tokenised here; token-level gold comes pre-tokenised
            tok = None if get_task(m.task).token_level else get_tokenizer(language)
            report = evaluation.evaluate_model(m, files, language, input_format=input_format, tokenizer=tok,
                                               batch_size=batch_size, encoding=encoding)
            if plot:
                evaluation.plot_gates(report["gates"], plot, title=f"{language}: average expert gate weights")
        else:
            raise InputError("give test files with --model DIR, --gold/--pred files, "
                             "or `bli SRC TGT --dict FILE` to evaluate vectors")
        if json_out:
            typer.echo(json.dumps(report, ensure_ascii=False))
        else:
            print_report(report)


def print_report(report: dict) -> None:
    """Rich tables: scores (per type / class), confusion matrix, average gate weights."""
    from rich.table import Table

    from mltl.log import stdout_console

    con = stdout_console()
    token_level = "per_type" in report   # entity scores; a classification report has a confusion matrix
    if token_level:
        t = Table(title=f"entity scores ({report['sentences']:,} sentences, {report['tokens']:,} tokens)")
        for c in ("type", "precision", "recall", "F1", "support"):
            t.add_column(c, justify="left" if c == "type" else "right")
        for typ, r in report["per_type"].items():
            t.add_row(typ, f"{100 * r['precision']:.2f}", f"{100 * r['recall']:.2f}", f"{100 * r['f1']:.2f}",
                      str(r["support"]))
        t.add_row("[bold]micro[/bold]", f"{100 * report['precision']:.2f}", f"{100 * report['recall']:.2f}",
                  f"[bold]{100 * report['f1']:.2f}[/bold]", str(sum(r["support"] for r in report["per_type"].values())))
        con.print(t)
        con.print(f"token accuracy {100 * report['token_accuracy']:.2f}")
    else:
        t = Table(title=f"classification ({report['documents']:,} documents)")
        t.add_column("gold \\ predicted")
        for lab in report["labels"]:
            t.add_column(lab, justify="right")
        t.add_column("F1", justify="right")
        for lab, row in zip(report["labels"], report["confusion"]):
            t.add_row(lab, *map(str, row), f"{100 * report['per_class'][lab]['f1']:.2f}")
        con.print(t)
        con.print(f"accuracy {100 * report['accuracy']:.2f}, macro-F1 {100 * report['macro_f1']:.2f}")
    gates = report.get("gates") or {}
    for key, name in (("fp", "Fp (private features)"), ("c", "C (predictor)")):
        if key not in gates:
            continue
        t = Table(title=f"average expert gate weights, {name}")
        t.add_column("tokens" if token_level else "documents")
        for e in gates["experts"]:
            t.add_column(e, justify="right")
        t.add_row("all", *(f"{w:.3f}" for w in gates[key]["all"]))
        for grp, ws in gates[key]["by"].items():
            t.add_row(grp, *(f"{w:.3f}" for w in ws))
        con.print(t)


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
