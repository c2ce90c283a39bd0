"""`mltl select`: the sentences or documents of an unlabeled pool most worth labeling next."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mltl import log
from mltl.device import DEFAULT_DEVICE, DEVICES

_HELP = """Pick the N items of an unlabeled pool most worth labeling next, pre-annotated.

The pool is read like `mltl predict` reads its input (raw text: one sentence or document per
line). Every item is predicted once; empty lines, repeats and --exclude'd texts are left out.
The chosen items are written with the model's predictions in any export format, most uncertain
first, ready to import into the labeling tool.

Strategies: uncertainty (lowest confidence), random (the baseline), diverse (k-means on the
model's shared features Fs, then the least confident item of each cluster). Measured on gold
CoNLL (docs/benchmarks.md), random picks trained a zero-resource model's first rounds better
than uncertainty: a weak model's least confident sentences hold fewer entities.

Examples:

  mltl select pool.de.txt --model models/de/model-best -n 200 --format labelstudio -o batch1.json

  mltl select pool.de.txt --model models/de/model-best -n 200 --exclude data/de-labeled -o batch2.jsonl
"""


def register(app: typer.Typer) -> None:
    @app.command("select", help=_HELP)
    def select(
        files: List[str] = typer.Argument(None, help="The pool; '-' or nothing reads stdin."),
        model_dir: Path = typer.Option(..., "--model", "-m", help="Model directory from `mltl train`."),
        count: int = typer.Option(..., "--count", "-n", help="How many items to choose."),
        strategy: str = typer.Option("uncertainty", "--strategy", "-s", help="uncertainty | random | diverse."),
        seed: int = typer.Option(1, "--seed", help="Random seed (random sampling, k-means)."),
        out_format: str = typer.Option(
            "jsonl",
            "--format",
            "-f",
            help="jsonl (with scores) | labelstudio | doccano | conll | spacy (needs -o).",
        ),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)."),
        exclude: List[str] = typer.Option(
            [],
            "--exclude",
            help="Already labeled texts to leave out: a dataset directory from `mltl prepare` or any file "
            "predict reads (repeatable).",
        ),
        lang: Optional[str] = typer.Option(
            None, "--lang", "-l", help="Language of the pool (default: the model's target)."
        ),
        input_format: Optional[str] = typer.Option(
            None, "--input-format", help="text | conll | conllu | jsonl (default: from the extension)."
        ),
        tokenizer: str = typer.Option("spacy", "--tokenizer", help="For raw text: spacy | whitespace | sentencepiece."),
        sp_model: Optional[str] = typer.Option(None, "--sp-model", help="sentencepiece model for raw text."),
        batch_size: int = typer.Option(256, "--batch-size", help="Sentences per forward pass."),
        device: str = typer.Option(DEFAULT_DEVICE, "--device", help=f"{DEVICES}."),
        encoding: str = typer.Option("utf-8", "--encoding", help="Input encoding."),
    ) -> None:
        import numpy as np

        from mltl.cli.predict import _LazyTokenizer, _model_version
        from mltl.device import check_device
        from mltl.errors import InputError
        from mltl.files import STDIO, atomic_file, check_input_file
        from mltl.models.model import load_model
        from mltl.predict import OUTPUT_FORMATS, detect_format, predict_docbin, predict_stream, read_items
        from mltl.selection import STRATEGIES, choose, excluded_keys, score_pool

        check_device(device)
        if strategy not in STRATEGIES:
            raise InputError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
        if out_format not in OUTPUT_FORMATS:
            raise InputError(f"unknown output format {out_format!r}; choose one of: {', '.join(OUTPUT_FORMATS)}")
        if count < 1:
            raise InputError(f"--count must be at least 1, got {count}")
        binary = out_format == "spacy"
        if binary and output is None:
            raise InputError("--format spacy writes a binary DocBin: give -o FILE.spacy")
        if output is not None and output.is_dir():
            raise InputError("-o names a directory; give the output file", path=output)
        inputs = list(files) if files else [STDIO]
        for f in [*inputs, *(e for e in exclude if not Path(e).is_dir())]:
            check_input_file(f)
        model = load_model(model_dir, device=device)
        language = lang or model.config.data.target
        model.check_lang(language)
        tok = _LazyTokenizer(language, tokenizer, sp_model)

        def read(path: str):
            fmt = detect_format(path, input_format if path in inputs else None, encoding)
            return read_items(path, fmt, tok if fmt in ("text", "jsonl") else None, encoding)

        skip = excluded_keys(exclude, read)
        with log.progress() as prog:
            bar = prog.add_task("score pool", total=None)
            pools = []
            for f in inputs:
                pools.append(
                    score_pool(
                        model,
                        read(f),
                        language,
                        skip,
                        features=strategy == "diverse",
                        batch_size=batch_size,
                        on_chunk=lambda n: prog.update(bar, completed=n),
                    )
                )
        items = [it for p in pools for it in p.items]
        if not items:
            raise InputError("the pool has no item left to choose from (empty, or all excluded)", path=inputs[0])
        scores = np.array([s for p in pools for s in p.scores])
        feats = np.stack([v for p in pools for v in p.feats]) if strategy == "diverse" else None
        picked = choose(scores, feats, count, strategy, seed)
        chosen = [items[i] for i in picked]
        with atomic_file(output if output else STDIO, "wb" if binary else "w") as out:
            if binary:
                predict_docbin(model, chosen, language, out, batch_size)
            else:
                predict_stream(
                    model,
                    chosen,
                    language,
                    out,
                    out_format,
                    batch_size=batch_size,
                    scores=True,
                    model_version=_model_version(model_dir),
                )
        left = sum(p.excluded for p in pools)
        dup = sum(p.duplicates for p in pools)
        log.info(
            f"chose {len(chosen):,} of {len(items):,} items ({strategy}, seed {seed}); "
            f"mean confidence {scores[picked].mean():.3f} (pool {scores.mean():.3f})"
            + (f"; {left:,} excluded" if left else "")
            + (f"; {dup:,} repeats skipped" if dup else "")
            + (f" -> {output}" if output else "")
        )
