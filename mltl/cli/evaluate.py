"""`mltl evaluate`: a model on labeled test files, predicted files against gold ones, or aligned
vectors by bilingual lexicon induction, as three subcommands (``model``, ``predictions``,
``bli``). ``mltl evaluate --model M FILE…`` (the short form in every example) means
``mltl evaluate model --model M FILE…``."""

from __future__ import annotations

from typing import Any, List, Optional

import typer
from typer.core import TyperGroup

from mltl import log
from mltl.device import DEFAULT_DEVICE, DEVICES

_HELP = """Score a model on labeled test files (entity F1 / accuracy + expert-gate analysis), a predicted
CoNLL file against a gold one, or aligned vectors by bilingual lexicon induction.

Examples:

  mltl evaluate --model models/de/model-best test.conll --plot gates.png   (= mltl evaluate model …)

  mltl evaluate predictions --gold gold.conll --pred pred.conll --json

  mltl evaluate bli --src de --tgt en aligned/de.vec aligned/en.vec --dict de-en.test.txt
"""


class _EvaluateGroup(TyperGroup):
    """Routes the subcommand-less spellings: ``evaluate --model M FILE`` to ``model`` (the short form
    the docs use), ``evaluate --gold G --pred P`` to ``predictions`` with a deprecation line."""

    def get_params(self, ctx: Any) -> list[Any]:
        from mltl.cli import _flags_without_type

        return _flags_without_type(super().get_params(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            if "--model" not in args and ("--gold" in args or "--pred" in args):
                log.warning(
                    "`mltl evaluate --gold G --pred P` is now `mltl evaluate predictions --gold G --pred P`; "
                    "the old spelling will be removed in mltl 0.3"
                )
                args = ["predictions", *args]
            else:
                args = ["model", *args]
        return super().parse_args(ctx, args)


def _json_flag() -> Any:
    return typer.Option(False, "--json", help="Print one JSON object.")


def _encoding() -> Any:
    return typer.Option("utf-8", "--encoding", help="Input encoding.")


def register(app: typer.Typer) -> None:
    from mltl.cli import _Command  # the root's command class: boolean flags shown without a type

    ev = typer.Typer(
        cls=_EvaluateGroup,
        help=_HELP,
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.add_typer(ev, name="evaluate")

    @ev.command("model", cls=_Command)
    def evaluate_model(
        files: List[str] = typer.Argument(
            None, help="Labeled test files (CoNLL, CoNLL-U or JSONL; classification: TSV/JSONL)."
        ),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory (e.g. models/de/model-best)."),
        lang: Optional[str] = typer.Option(
            None, "--lang", "-l", help="Language of the test files (default: the model's target)."
        ),
        input_format: Optional[str] = typer.Option(
            None, "--input-format", help="conll | conllu | jsonl (default: from the extension)."
        ),
        plot: Optional[str] = typer.Option(
            None, "--plot", help="Bar chart of the average expert-gate weights (PNG/PDF/SVG)."
        ),
        batch_size: int = typer.Option(256, "--batch-size", help="Sentences per batch."),
        device: str = typer.Option(DEFAULT_DEVICE, "--device", help=f"{DEVICES}."),
        encoding: str = _encoding(),
        json_out: bool = _json_flag(),
    ) -> None:
        """Score a model on labeled test files (the default: `mltl evaluate --model M FILE`).

        Tagging: entity F1 per type; classification: accuracy, macro-F1, confusion matrix; both: the
        average expert-gate weights.

        Example: mltl evaluate model --model models/de/model-best test.conll --plot gates.png
        """
        from mltl import evaluation
        from mltl.device import check_device
        from mltl.errors import InputError

        if model is None:
            raise InputError("give the model to evaluate: --model DIR (and its labeled test files)")
        check_device(device)  # before any file is read (the GPU itself is checked with the model)
        if not files:
            raise InputError("give the labeled test file(s) to evaluate --model on")
        if plot:
            evaluation.plot_format(plot)  # a bad --plot name fails now, not after the evaluation
        from mltl.models.model import load_model
        from mltl.text.tokenize import get_tokenizer

        m = load_model(model, device=device)
        language = lang or m.config.data.target
        m.check_lang(language)
        # raw-text documents are tokenised here; token-level gold comes pre-tokenised
        tok = None if m.task.token_level else get_tokenizer(language)
        report = evaluation.evaluate_model(
            m, files, language, input_format=input_format, tokenizer=tok, batch_size=batch_size, encoding=encoding
        )
        if plot:
            evaluation.plot_gates(report["gates"], plot, title=f"{language}: average expert gate weights")
        _show(report, json_out)

    @ev.command("predictions", cls=_Command)
    def evaluate_predictions(
        files: List[str] = typer.Argument(None, hidden=True),
        gold: Optional[str] = typer.Option(None, "--gold", help="Gold CoNLL file."),
        pred: Optional[str] = typer.Option(
            None, "--pred", help="Predicted CoNLL file (e.g. `mltl predict --format conll`), same tokens as --gold."
        ),
        plot: Optional[str] = typer.Option(None, "--plot", hidden=True),
        encoding: str = _encoding(),
        json_out: bool = _json_flag(),
    ) -> None:
        """Score a predicted CoNLL file against a gold one (no model needed): entity F1 per type.

        Example: mltl evaluate predictions --gold gold.conll --pred pred.conll --json
        """
        from mltl import evaluation
        from mltl.errors import InputError

        if plot:
            raise InputError("--plot draws the model's expert gates: it needs --model DIR and test files")
        if gold is None or pred is None or files:
            raise InputError("give both --gold FILE and --pred FILE (and no other files)")
        _show(evaluation.evaluate_files(gold, pred, encoding), json_out)

    @ev.command("bli", cls=_Command)
    def evaluate_bli(
        files: List[str] = typer.Argument(None, help="SRC_VECTORS TGT_VECTORS (aligned, one shared space)."),
        src: Optional[str] = typer.Option(None, "--src", help="Source language code (default: from the file name)."),
        tgt: Optional[str] = typer.Option(None, "--tgt", help="Target language code (default: from the file name)."),
        dictionary: Optional[str] = typer.Option(
            None, "--dict", help="Test dictionary (MUSE format 'src tgt' per line), or a directory with SRC-TGT*.txt."
        ),
        max_vocab: Optional[int] = typer.Option(
            200000, "--max-vocab", help="Keep the N most frequent words of each side."
        ),
        csls_k: int = typer.Option(10, "--csls-k", help="CSLS neighbourhood size."),
        csls_pool: int = typer.Option(
            10000,
            "--csls-pool",
            help="Source words measuring target hubness (0 = all: exact, slow on big vocabularies).",
        ),
        csls_candidates: int = typer.Option(
            50, "--csls-candidates", help="Cosine candidates CSLS re-ranks per query (0 = all targets)."
        ),
        json_out: bool = _json_flag(),
    ) -> None:
        """Word translation (bilingual lexicon induction) of aligned vectors: P@1/5/10, NN and CSLS.

        Example: mltl evaluate bli aligned/de.vec aligned/en.vec --dict de-en.test.txt --json
        """
        import json

        from mltl.errors import InputError

        if len(files or []) != 2:
            raise InputError("usage: mltl evaluate bli SRC_VECTORS TGT_VECTORS --dict FILE")
        if dictionary is None:
            raise InputError("mltl evaluate bli needs --dict (a MUSE-format test dictionary)")
        from mltl.embeddings.bli import run_bli
        from mltl.embeddings.dictionary import find_dictionary
        from mltl.embeddings.vectors import lang_of

        s = src or lang_of(files[0])
        t = tgt or lang_of(files[1])
        result = run_bli(
            files[0],
            files[1],
            find_dictionary(dictionary, s, t, prefer="test"),
            src_lang=s,
            tgt_lang=t,
            max_vocab=max_vocab,
            csls_k=csls_k,
            csls_pool=csls_pool or None,
            csls_candidates=csls_candidates or None,
        )
        if json_out:
            typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            print_bli(result)


def _show(report: dict, json_out: bool) -> None:
    import json

    if json_out:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        print_report(report)


def print_report(report: dict) -> None:
    """Rich tables: scores (per type / class), confusion matrix, average gate weights."""
    from rich.table import Table

    from mltl.log import stdout_console

    con = stdout_console()
    token_level = "per_type" in report  # entity scores; a classification report has a confusion matrix
    if token_level:
        t = Table(title=f"entity scores ({report['sentences']:,} sentences, {report['tokens']:,} tokens)")
        for c in ("type", "precision", "recall", "F1", "support"):
            t.add_column(c, justify="left" if c == "type" else "right")
        for typ, r in report["per_type"].items():
            t.add_row(
                typ,
                f"{100 * r['precision']:.2f}",
                f"{100 * r['recall']:.2f}",
                f"{100 * r['f1']:.2f}",
                str(r["support"]),
            )
        t.add_row(
            "[bold]micro[/bold]",
            f"{100 * report['precision']:.2f}",
            f"{100 * report['recall']:.2f}",
            f"[bold]{100 * report['f1']:.2f}[/bold]",
            str(sum(r["support"] for r in report["per_type"].values())),
        )
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
    con.print(
        f"{result['queries']} queries; coverage {result['coverage']:.1f}% of "
        f"{result['source_words_in_dictionary']} dictionary source words "
        f"({result['pairs_in_vocab']} of {result['pairs_total']} pairs in vocabulary); "
        f"{result['seconds']:.2f} s"
    )
