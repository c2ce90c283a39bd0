"""`mltl prepare`: labeled files / raw text of one language -> canonical dataset directory."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mltl import log


def register(app: typer.Typer) -> None:
    @app.command("prepare")
    def prepare(
        files: List[str] = typer.Argument(
            ...,
            help="Input files: train \\[dev \\[test]] (or any number with "
            "--split); raw text with --task unlabeled. '-' reads stdin.",
        ),
        output: Path = typer.Option(..., "--output", "-o", help="Output dataset directory."),
        lang: str = typer.Option(..., "--lang", "-l", help="ISO language code, e.g. de, es, zh."),
        task: str = typer.Option(
            "tagging",
            "--task",
            "-t",
            help="tagging | classification | unlabeled (inputs "
            "are raw text, one sentence or document per line -> unlabeled.jsonl).",
        ),
        fmt: Optional[str] = typer.Option(
            None,
            "--format",
            "-f",
            help="tagging: conll2002 (default), conll2003, "
            "conll, conllu, doccano (its JSONL export: text + [start, end, TAG] spans), labelstudio (a "
            "project's JSON export), spacy (a DocBin); classification: tsv (default), csv, jsonl, doccano, "
            "labelstudio, spacy; raw text: text (default), roff (man pages), html.",
        ),
        unlabeled_text: List[str] = typer.Option(
            [], "--unlabeled-text", help="Raw text to add as unlabeled.jsonl beside labeled data (repeatable)."
        ),
        tokenizer: str = typer.Option("spacy", "--tokenizer", help="spacy | whitespace | sentencepiece."),
        sp_model: Optional[str] = typer.Option(
            None,
            "--sp-model",
            help="sentencepiece model; without it, one is trained on the raw text and saved as sp.model.",
        ),
        sp_vocab_size: int = typer.Option(
            8000, "--sp-vocab-size", help="Vocabulary size of a trained sentencepiece model."
        ),
        scheme: Optional[str] = typer.Option(
            None,
            "--scheme",
            help="Input tag scheme: bio, iob1, bioes, bilou, plain (default: detected). Output is BIO.",
        ),
        repair: bool = typer.Option(
            False,
            "--repair",
            help="Repair invalid tag sequences (I-X after O or after B-Y) instead of stopping at the first; "
            "doccano, labelstudio: snap spans that do not fall on token boundaries to whole tokens (counted).",
        ),
        split: Optional[str] = typer.Option(
            None,
            "--split",
            help="Shuffle all inputs and split by percentages: train/dev/test (80/10/10) or train/test (80/20).",
        ),
        seed: int = typer.Option(1, "--seed", help="Random seed for --split."),
        token_col: Optional[int] = typer.Option(
            None, "--token-col", help="CoNLL token column (0-based; negative counts from the end)."
        ),
        tag_col: Optional[int] = typer.Option(None, "--tag-col", help="CoNLL tag column (default: last)."),
        tag_field: str = typer.Option(
            "upos", "--tag-field", help="CoNLL-U tag: upos, xpos or misc:KEY (e.g. misc:NER)."
        ),
        text_field: str = typer.Option(
            "text",
            "--text-field",
            help="TSV/CSV/JSONL text field: a header name, or a 0-based column number for files without a "
            "header; labelstudio: the key of the text in each task's data.",
        ),
        label_field: str = typer.Option(
            "label", "--label-field", help="TSV/CSV/JSONL label field (name or 0-based column number)."
        ),
        header: Optional[bool] = typer.Option(
            None,
            "--header/--no-header",
            help="TSV/CSV: the first row names the columns \\[default: CSV yes, TSV no (label<TAB>text)].",
        ),
        label_map: List[str] = typer.Option(
            [],
            "--label-map",
            help="Rename, fold or drop labels: FROM=TO,… "
            "(repeatable). Classification: FROM= drops those documents "
            "(1=neg,2=neg,3=,4=pos,5=pos). Tagging maps entity types: "
            "LOCpart=LOC, LOCderiv=O.",
        ),
        token_prefix: Optional[str] = typer.Option(
            None,
            "--token-prefix",
            help="Strip this prefix from CoNLL tokens that have it (WikiANN: --token-prefix de:).",
        ),
        labels: List[str] = typer.Option(
            [],
            "--labels",
            help="doccano, labelstudio: the labels (entity types) the export may use, A,B,…; any other is an "
            "error naming the record.",
        ),
        skip_unannotated: bool = typer.Option(
            False,
            "--skip-unannotated",
            help="labelstudio: leave out tasks with no annotation (or only cancelled ones) instead of stopping.",
        ),
        encoding: str = typer.Option("utf-8", "--encoding", help="Input encoding."),
        force: bool = typer.Option(False, "--force", help="Replace an existing output directory."),
    ) -> None:
        """Turn labeled files and raw text of one language into a dataset directory
        (train/dev/test.jsonl, unlabeled.jsonl, meta.json).

        Examples:

          mltl prepare --task tagging --lang de --format conll2003 train.txt dev.txt test.txt -o data/de

          mltl prepare --task classification --lang fr reviews.tsv --split 80/10/10 --seed 1 -o data/fr

          mltl prepare --task unlabeled --lang ja --tokenizer sentencepiece corpus.txt -o data/ja
        """
        from mltl.data.prepare import prepare as run

        with log.progress() as prog:
            bar = prog.add_task(f"prepare {lang}", total=None)

            def on_progress(done: int, total: int) -> None:
                prog.update(bar, completed=done, total=total or None)

            meta = run(
                files,
                output,
                task=task,
                lang=lang,
                fmt=fmt,
                unlabeled=unlabeled_text,
                tokenizer=tokenizer,
                sp_model=sp_model,
                sp_vocab_size=sp_vocab_size,
                scheme=scheme,
                repair=repair,
                split=split,
                seed=seed,
                token_col=token_col,
                tag_col=tag_col,
                tag_field=tag_field,
                text_field=text_field,
                label_field=label_field,
                header=header,
                label_map=label_map,
                token_prefix=token_prefix,
                labels=labels,
                skip_unannotated=skip_unannotated,
                encoding=encoding,
                force=force,
                on_progress=on_progress,
            )
        if not log.is_quiet():
            print_summary(meta, output)


def print_summary(meta: dict, output: Path) -> None:
    from rich.table import Table

    from mltl.data.prepare import KINDS
    from mltl.log import stdout_console

    kind = KINDS[meta["task"]]
    unit = kind.unit
    what = (
        ""
        if not kind.labeled
        else "labels"
        if not kind.token_level
        else "entity types"
        if meta.get("scheme") == "bio"
        else "tags"
    )
    table = Table(title=f"{output} ({meta['language']}, {meta['task']})")
    table.add_column("file")
    table.add_column(unit, justify="right")
    table.add_column("tokens", justify="right")
    if what:
        table.add_column(what)
    for split, st in meta["splits"].items():
        row = [f"{split}.jsonl", f"{st['items']:,}", f"{st['tokens']:,}"]
        if what:
            top = sorted(st["labels"].items(), key=lambda kv: -kv[1])
            row.append(", ".join(f"{k} {v}" for k, v in top[:8]) + (" …" if len(top) > 8 else ""))
        table.add_row(*row)
    con = stdout_console()
    con.print(table)
    notes = []
    if meta.get("source_scheme") and meta["source_scheme"] not in ("bio", "plain"):
        notes.append(f"converted {meta['source_scheme'].upper()} to BIO")
    if meta.get("spans_snapped"):
        notes.append(f"spans snapped to tokens: {meta['spans_snapped']}")
    if meta.get("tasks_skipped"):
        notes.append(f"unannotated tasks skipped: {meta['tasks_skipped']}")
    if kind.token_level:
        notes.append(f"problems repaired: {meta.get('problems_repaired', 0)}")
    if meta.get("label_map"):
        notes.append(
            f"label map applied ({len(meta['label_map'])} labels)"
            + (f", {meta['dropped_by_label_map']:,} documents dropped" if meta.get("dropped_by_label_map") else "")
        )
    notes.append(f"{meta['seconds']:.1f} s")
    con.print("; ".join(notes))
