"""`mltl predict`: tag or classify raw text, CoNLL, CoNLL-U or JSONL with a trained model."""

from __future__ import annotations

import json
import os
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
        shard: Optional[str] = typer.Option(
            None,
            "--shard",
            help="I/N: predict only part I (0..N-1) of the input, for a job array (Slurm, GNU parallel); "
            "writes -o and a manifest beside it; join the N parts with `mltl merge`. Under torchrun each "
            "rank takes its part by itself.",
        ),
    ) -> None:
        """Predict tags or labels for every input, in input order.

        Examples:

          mltl predict --model models/de/model-best text.de.txt > tags.jsonl

          cat x.txt | mltl predict - --model models/de/model-best --format conll | head

          mltl predict --model models/de/model-best --lang nl --vectors aligned/nl.vec nl.txt

          mltl predict --model M big.txt --shard 3/8 -o parts/big.3.jsonl

          mltl merge parts/big.*.jsonl -o big.jsonl

          torchrun --nproc-per-node 4 -m mltl predict --model M big.txt -o big.jsonl
        """
        import contextlib

        from mltl import distributed, sharding
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
        w = distributed.world()
        part: tuple[int, int] | None = None  # (this part, of how many)
        if shard is not None:
            if w.active:
                raise InputError("--shard and torchrun both split the input: use one of them")
            part = sharding.parse_shard(shard)
            if len(inputs) != 1 or output is None or output.is_dir():
                raise InputError(
                    "--shard I/N predicts one input file into -o FILE (its part; a manifest goes beside it)"
                )
            sharding.check_shardable(inputs[0])
        elif w.active:
            part = (w.rank, w.size)
            for f in inputs:
                sharding.check_shardable(f)
            if output is None and w.multi_node:
                raise InputError("torchrun across nodes: give -o on a file system every node sees (ranks write parts)")

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
        if w.active and device in ("auto", "cuda"):
            import torch

            if torch.cuda.is_available():  # one GPU per rank on its node
                device = f"cuda:{w.local_rank % torch.cuda.device_count()}"
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

        def predict_into(f: str, o, span) -> dict[str, int]:
            """Input ``f`` (or its byte ``span``) predicted into the open stream ``o``."""
            fmt = formats[f]
            ofmt = out_format or ("conll" if fmt in ("conll", "conllu") else "jsonl")
            empty = (f != STDIO and Path(f).stat().st_size == 0) or (span is not None and span.start == span.end)
            if empty and ofmt != "labelstudio":
                return {"items": 0, "tokens": 0}  # empty input: empty output, exit 0 (Label Studio: an empty list)
            items = read_items(f, fmt, tokenizer_for(fmt), encoding, tag_field=tag_field, span=span)

            def on_chunk(n: int, t: int, name: str = Path(f).name) -> None:
                prog.update(bar, description=f"predict {name}", completed=done["tokens"] + t)

            if binary:
                return predict_docbin(model, items, language, o, batch_size, on_chunk)
            return predict_stream(model, items, language, o, ofmt, gates, batch_size, on_chunk, scores, model_version)

        def count(c: dict[str, int]) -> None:
            done["items"] += c["items"]
            done["tokens"] += c["tokens"]

        mode = "wb" if binary else "w"
        with log.progress() as prog, contextlib.ExitStack() as stack:
            bar = prog.add_task("predict", total=None)
            if shard is not None:  # one part of one input, and its manifest
                assert part is not None and output is not None
                f = inputs[0]
                span = sharding.shard_span(f, part[0], part[1], formats[f])
                with atomic_file(output, mode) as o:
                    count(predict_into(f, o, span))
                ofmt = out_format or ("conll" if formats[f] in ("conll", "conllu") else "jsonl")
                man = sharding.manifest(part[0], part[1], Path(f), span, ofmt, model_version, done["items"])
                with atomic_file(sharding.manifest_path(output)) as mf:
                    mf.write(json.dumps(man, indent=1) + "\n")
            elif w.active:  # torchrun: every rank predicts its part of every input; rank 0 joins them
                count(_predict_ranks(w, inputs, formats, output, to_dir, out_name, mode, predict_into, out_format))
            else:
                # One output stream (stdout or -o FILE, written atomically), or one file per input in -o DIR.
                shared = None if to_dir else stack.enter_context(atomic_file(output if output else STDIO, mode))
                for f in inputs:
                    if to_dir:
                        assert output is not None  # to_dir implies -o
                        with atomic_file(output / out_name(f), mode) as o:
                            count(predict_into(f, o, None))
                    else:
                        assert shared is not None  # opened above whenever not to_dir
                        count(predict_into(f, shared, None))
        if output is not None and w.is_main:
            log.info(f"{done['items']:,} items, {done['tokens']:,} tokens -> {output}")
        sys.stdout.flush()


def _parts_dir(output: Optional[Path]) -> Path:
    """Where the ranks of one torchrun job write their parts: beside -o (a file system all
    nodes see), else in the node's temp dir; named by the job so that every rank agrees."""
    import tempfile

    job = os.environ.get("TORCHELASTIC_RUN_ID") or f"{os.environ.get('MASTER_ADDR')}-{os.environ.get('MASTER_PORT')}"
    job = "".join(c if c.isalnum() or c in "-_." else "_" for c in job)
    if output is None:
        return Path(tempfile.gettempdir()) / f"mltl-predict-{job}"
    base = output if output.is_dir() else output.parent
    return base / f".{output.name}.parts-{job}"


def _predict_ranks(w, inputs, formats, output, to_dir, out_name, mode, predict_into, out_format) -> dict[str, int]:
    """torchrun: rank r predicts part r of every input into a part file; after a barrier,
    rank 0 joins the parts of each input in order into the output (or stdout) and removes
    them. Returns the job's counts (on rank 0; this rank's elsewhere)."""
    import shutil

    from mltl import distributed, sharding
    from mltl.files import STDIO, atomic_file

    parts = _parts_dir(output)
    parts.mkdir(parents=True, exist_ok=True)
    counts = {"items": 0, "tokens": 0}
    # gloo whatever the device: the ranks exchange only counts and barriers, never tensors
    joined = distributed.init(w, "cpu")
    try:
        for i, f in enumerate(inputs):
            span = sharding.shard_span(f, w.rank, w.size, formats[f])
            with atomic_file(parts / f"{i}.{w.rank}.part", mode) as o:
                c = predict_into(f, o, span)
            counts = {k: counts[k] + c[k] for k in counts}
        total = distributed.all_sum([counts["items"], counts["tokens"]], w)
        distributed.barrier(w)  # every part is complete
        if w.is_main:

            def ofmt(f: str) -> str:
                return out_format or ("conll" if formats[f] in ("conll", "conllu") else "jsonl")

            def join(i: int, f: str, o) -> None:
                sharding.merge_outputs([parts / f"{i}.{r}.part" for r in range(w.size)], o, ofmt(f))

            if to_dir:
                for i, f in enumerate(inputs):
                    with atomic_file(output / out_name(f), mode) as o:
                        join(i, f, o)
            else:
                with atomic_file(output if output else STDIO, mode) as o:
                    for i, f in enumerate(inputs):
                        join(i, f, o)
            counts = {"items": int(total[0]), "tokens": int(total[1])}
        distributed.barrier(w)  # rank 0 has read every part
    finally:
        distributed.shutdown(joined)
        if w.is_main:
            shutil.rmtree(parts, ignore_errors=True)
        else:
            for i in range(len(inputs)):
                (parts / f"{i}.{w.rank}.part").unlink(missing_ok=True)
    return counts


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
