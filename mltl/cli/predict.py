"""`mltl predict`: tag or classify raw text, CoNLL, CoNLL-U or JSONL with a trained model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from mltl import log
from mltl.device import DEFAULT_DEVICE, DEVICES

if TYPE_CHECKING:
    from mltl.text.tokenize import Tokenizer


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict(
        files: List[str] = typer.Argument(
            None, help="Inputs; '-' or nothing reads stdin. Raw text: one sentence or document per line."
        ),
        model_dir: Path = typer.Option(..., "--model", "-m", help="Model directory from `mltl train`."),
        out_format: Optional[str] = typer.Option(
            None,
            "--format",
            "-f",
            help="conll | jsonl | doccano (doccano's JSONL import: text + label spans or labels) | labelstudio "
            "(Label Studio's JSON import: tasks with scored predictions; project config: `mltl init labelstudio`) "
            "| spacy (a DocBin for `spacy train`; needs -o) (default: conll for CoNLL input, jsonl otherwise).",
        ),
        input_format: Optional[str] = typer.Option(
            None, "--input-format", help="text | conll | conllu | jsonl (default: from the extension; text otherwise)."
        ),
        output: Optional[Path] = typer.Option(
            None, "--output", "-o", help="Output file, or a directory for several inputs (default: stdout)."
        ),
        lang: Optional[str] = typer.Option(
            None, "--lang", "-l", help="Language of the input (default: the model's target)."
        ),
        vectors: Optional[Path] = typer.Option(
            None, "--vectors", help="Aligned vectors for a language the model has not seen (zero-shot); needs --lang."
        ),
        tokenizer: str = typer.Option("spacy", "--tokenizer", help="For raw text: spacy | whitespace | sentencepiece."),
        sp_model: Optional[str] = typer.Option(None, "--sp-model", help="sentencepiece model for raw text."),
        gates: bool = typer.Option(False, "--gates", help="Add the per-token expert-gate weights (JSONL)."),
        scores: bool = typer.Option(
            False,
            "--scores",
            help="Confidences in the JSON formats: `score` per sentence (mean probability of its entity "
            "tags; no entity: its least probable tag) or document (the label's probability), and per entity "
            "(mean over its tokens).",
        ),
        tag_field: str = typer.Option("misc:NER", "--tag-field", help="CoNLL-U gold column: upos, xpos, misc:KEY."),
        batch_size: int = typer.Option(256, "--batch-size", help="Sentences per forward pass."),
        device: str = typer.Option(DEFAULT_DEVICE, "--device", help=f"{DEVICES}."),
        encoding: str = typer.Option("utf-8", "--encoding", help="Input encoding."),
    ) -> None:
        """Predict tags or labels for every input, in input order.

        Examples:

          mltl predict --model models/de/model-best text.de.txt > tags.jsonl

          cat x.txt | mltl predict - --model models/de/model-best --format conll | head

          mltl predict --model models/de/model-best --lang nl --vectors aligned/nl.vec nl.txt
        """
        import contextlib

        from mltl.device import check_device
        from mltl.errors import InputError
        from mltl.files import STDIO, atomic_file, check_input_file
        from mltl.models.model import load_model
        from mltl.predict import OUTPUT_FORMATS, detect_format, predict_docbin, predict_stream, read_items

        check_device(device)  # before any file is read (the GPU itself is checked with the model)
        inputs = list(files) if files else [STDIO]
        for f in inputs:
            check_input_file(f)
        if inputs.count(STDIO) > 1:
            raise InputError("'-' (stdin) can be given once")
        if out_format is not None and out_format not in OUTPUT_FORMATS:
            raise InputError(f"unknown output format {out_format!r}; choose one of: {', '.join(OUTPUT_FORMATS)}")
        formats = {f: detect_format(f, input_format, encoding) for f in inputs}

        def out_name(f: str) -> str:
            ofmt = out_format or ("conll" if formats[f] in ("conll", "conllu") else "jsonl")
            ext = {"doccano": "doccano.jsonl", "labelstudio": "labelstudio.json"}.get(ofmt, ofmt)  # spacy -> NAME.spacy
            return (Path(f).name if f != STDIO else "stdin") + f".{ext}"

        to_dir = output is not None and (len(inputs) > 1 or output.is_dir())
        if to_dir:
            assert output is not None  # to_dir implies -o
            if output.exists() and not output.is_dir():
                raise InputError(
                    f"-o names a file, but {len(inputs)} inputs need a directory (one output "
                    "each); give a directory path",
                    path=output,
                )
            named: dict[str, str] = {}
            for f in inputs:
                other = named.setdefault(out_name(f), f)
                if other != f:
                    raise InputError(
                        f"{other} and {f} would both be written to {output / out_name(f)}; "
                        "predict them in separate runs or give files with different names"
                    )
        if out_format == "labelstudio" and len(inputs) > 1 and not to_dir:
            raise InputError("--format labelstudio writes one JSON list per input: with several inputs give -o DIR")
        binary = out_format == "spacy"  # a DocBin: a binary file, never stdout
        if binary and output is None:
            raise InputError("--format spacy writes a binary DocBin: give -o FILE.spacy (or -o DIR)")
        model = load_model(model_dir, device=device)
        model_version = _model_version(model_dir)
        language = lang or model.config.data.target
        if vectors is not None:
            if lang is None:
                raise InputError("--vectors needs --lang (the language of those vectors)")
            model.add_language(language, vectors)
        model.check_lang(language)
        # Built at the first text to split: JSONL rows may carry their own "tokens", and
        # pre-tokenized input then needs no spaCy at all.
        tok = _LazyTokenizer(language, tokenizer, sp_model)

        def tokenizer_for(fmt: str):
            return tok if fmt in ("text", "jsonl") else None

        done = {"items": 0, "tokens": 0}
        with log.progress() as prog, contextlib.ExitStack() as stack:
            bar = prog.add_task("predict", total=None)
            # One output stream (stdout or -o FILE, written atomically), or one file per input in -o DIR.
            shared = (
                None
                if to_dir
                else stack.enter_context(atomic_file(output if output else STDIO, "wb" if binary else "w"))
            )
            for f in inputs:
                fmt = formats[f]
                ofmt = out_format or ("conll" if fmt in ("conll", "conllu") else "jsonl")
                if f != STDIO and Path(f).stat().st_size == 0 and ofmt != "labelstudio":
                    continue  # empty input: empty output, exit 0 (Label Studio: an empty list)
                items = read_items(f, fmt, tokenizer_for(fmt), encoding, tag_field=tag_field)

                def on_chunk(n: int, t: int, name: str = Path(f).name) -> None:
                    prog.update(bar, description=f"predict {name}", completed=done["tokens"] + t)

                if to_dir:
                    assert output is not None  # to_dir implies -o
                    with atomic_file(output / out_name(f), "wb" if binary else "w") as o:
                        counts = (
                            predict_docbin(model, items, language, o, batch_size, on_chunk)
                            if binary
                            else predict_stream(
                                model, items, language, o, ofmt, gates, batch_size, on_chunk, scores, model_version
                            )
                        )
                else:
                    assert shared is not None  # opened above whenever not to_dir
                    counts = (
                        predict_docbin(model, items, language, shared, batch_size, on_chunk)
                        if binary
                        else predict_stream(
                            model, items, language, shared, ofmt, gates, batch_size, on_chunk, scores, model_version
                        )
                    )
                done["items"] += counts["items"]
                done["tokens"] += counts["tokens"]
        if output is not None:
            log.info(f"{done['items']:,} items, {done['tokens']:,} tokens -> {output}")
        sys.stdout.flush()


def _model_version(model_dir: Path) -> str:
    """Label Studio's ``model_version``: the model directory as the user named it, e.g.
    ``models/de/model-best`` -> ``de/model-best`` (a packaged model: its name)."""
    from mltl import __version__

    parts = Path(str(model_dir)).resolve().parts[-2:]
    return f"{'/'.join(parts)} (mltl {__version__})"


class _LazyTokenizer:
    """Stands in for ``get_tokenizer(lang, kind, sp_model)`` and builds it on first use."""

    def __init__(self, lang: str, kind: str, sp_model) -> None:
        self._args = (lang, kind, sp_model)
        self._tok: Tokenizer | None = None

    def tokenize_with_offsets(self, text: str):
        if self._tok is None:
            from mltl.text.tokenize import get_tokenizer

            lang, kind, sp_model = self._args
            self._tok = get_tokenizer(lang, kind, sp_model=sp_model)
        return self._tok.tokenize_with_offsets(text)
