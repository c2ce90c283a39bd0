"""Train monolingual fastText vectors on text tokenized exactly as ``mltl prepare`` does.

Input is raw text (one paragraph or sentence per line; ``-`` = stdin), roff man
pages, HTML pages (:mod:`mltl.text.htmltext`), or ``unlabeled.jsonl`` from
``mltl prepare`` (already tokenized: used as is). Text goes through
:func:`mltl.text.tokenize.get_tokenizer` — the same function ``prepare`` and
``predict`` use, so a word is split the same way when its vector is trained and
when it is looked up. Tokenized sentences are written
to a temporary file (fastText reads a file), one sentence per line.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from mltl import log
from mltl.embeddings.embed_config import INPUT_FORMATS, EmbedConfig, TextInput
from mltl.errors import InputError
from mltl.files import STDIO, check_nonempty, iter_lines

# n-gram hash buckets when --bucket is not given: BUCKETS_PER_WORD per word of the vocabulary
# (words with count >= --min-count), within [MIN_BUCKET, MAX_BUCKET]. A word has about 10
# distinct character 3-6-grams of its own (8-12 in the shipped examples' vocabularies, fewer
# in large ones, where words share them), so 20 per word keeps most n-grams in a bucket of
# their own. fastText's fixed default (MAX_BUCKET) makes the .bin (words + bucket) x dim
# floats: 2.4 GB at dim 300 for a 114-word corpus, 12 MB with this rule.
BUCKETS_PER_WORD = 20
MIN_BUCKET = 10_000
MAX_BUCKET = 2_000_000


def auto_bucket(words: int) -> int:
    """``--bucket`` sized to a vocabulary of ``words`` words (see :data:`BUCKETS_PER_WORD`)."""
    return min(MAX_BUCKET, max(MIN_BUCKET, BUCKETS_PER_WORD * words))


HTML_SUFFIXES = tuple(s + gz for s in (".html", ".htm", ".xhtml") for gz in ("", ".gz"))


def _prose(lines: Iterable[str], kind: str) -> Iterable[str]:
    """The prose lines of one input of format ``kind`` (text, roff or html)."""
    if kind == "roff":
        from mltl.text.roff import roff_to_paragraphs

        return roff_to_paragraphs(lines)
    if kind == "html":
        from mltl.text.htmltext import html_to_lines

        return html_to_lines(lines)
    return lines


def _format_of(path: str, fmt: str) -> str:
    if fmt != "auto":
        if fmt not in INPUT_FORMATS:
            raise InputError(f"unknown input format {fmt!r}; choose one of {', '.join(INPUT_FORMATS)}")
        return fmt
    name = path.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    # Man pages: name.<section>[.gz] under a man directory.
    if "/man/" in name and (name.endswith(".gz") or name.rsplit(".", 1)[-1][:1].isdigit()):
        return "roff"
    return "text"


def _jsonl_sentences(path: str) -> Iterator[list[str]]:
    from mltl.data.jsonl import read_jsonl

    for lineno, obj in read_jsonl(path):
        toks = obj.get("tokens")
        if not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
            raise InputError('expected {"tokens": [...]} (a list of strings)', path=path, line=lineno)
        yield toks


def iter_sentences(
    paths: Sequence[str],
    lang: str,
    tokenizer: str = "spacy",
    fmt: str = "auto",
    sp_model: str | Path | None = None,
    encoding: str = "utf-8",
) -> Iterator[list[str]]:
    """Token lists of every sentence of every input, streamed."""
    tok = None
    for path in paths:
        check_nonempty(path)
        kind = _format_of(str(path), fmt)
        if kind == "jsonl":
            yield from _jsonl_sentences(str(path))
            continue
        if tok is None:
            from mltl.text.tokenize import get_tokenizer

            tok = get_tokenizer(lang, kind=tokenizer, sp_model=sp_model)
        lines = _prose((line for _, line in iter_lines(path, encoding)), kind)
        for sents in tok.sentences(lines):
            yield from sents


def write_corpus(sentences: Iterable[list[str]], out, lowercase: bool = False) -> tuple[int, Counter]:
    """Write one sentence per line; returns (tokens written, word counts)."""
    counts: Counter = Counter()
    n = 0
    for sent in sentences:
        # fastText splits on whitespace: a token must not contain any.
        toks = ["_".join(t.split()) for t in sent if t.strip()]
        if lowercase:
            toks = [t.lower() for t in toks]
        if not toks:
            continue
        counts.update(toks)
        n += len(toks)
        out.write(" ".join(toks))
        out.write("\n")
    return n, counts


def train_embeddings(
    paths: Sequence[str],
    out: str | Path,
    lang: str,
    cfg: EmbedConfig | None = None,
    text: TextInput | None = None,
    *,
    write_vec: bool = True,
) -> dict[str, Any]:
    """Tokenize ``paths``, train fastText, write ``<out>.bin`` and ``<out>.vec``.

    Both files appear only when everything succeeded (temp files renamed at the
    end). Returns a summary (tokens, vocabulary size, seconds, paths).
    """
    cfg = cfg or EmbedConfig()
    cfg.check()
    text = text or TextInput()
    lowercase, tokenizer, fmt, encoding = text.lowercase, text.tokenizer, text.fmt, text.encoding
    sp_model: str | Path | None = text.sp_model
    if not paths:
        raise InputError("no input files (give FILE... or - for stdin)")
    if sum(1 for p in paths if str(p) == STDIO) > 1:
        raise InputError("stdin (-) can be read only once")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        raise InputError("output directory is not writable", path=out.parent)
    bin_path, vec_path = out.with_name(out.name + ".bin"), out.with_name(out.name + ".vec")
    t0 = time.perf_counter()
    sp_out: Path | None = None
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        if tokenizer == "sentencepiece" and sp_model is None:
            sp_model = sp_out = _train_sp(paths, fmt, Path(tmp), lang, encoding)
        corpus = Path(tmp) / "corpus.txt"
        log.info(f"tokenizing {len(paths)} input(s) for {lang} ({tokenizer})")
        with open(corpus, "w", encoding="utf-8") as f:
            n_tokens, counts = write_corpus(
                iter_sentences(paths, lang, tokenizer, fmt, sp_model, encoding), f, lowercase
            )
        kept = sum(1 for c in counts.values() if c >= cfg.min_count)
        where = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        if n_tokens == 0:
            raise InputError("no tokens in the input", path=where)
        if kept == 0:
            raise InputError(
                f"corpus too small: {n_tokens} tokens, {len(counts)} distinct words, none "
                f"occurs {cfg.min_count} times (--min-count); give more text or lower it",
                path=where,
            )
        t_tok = time.perf_counter() - t0
        if cfg.bucket is None:
            bucket = auto_bucket(kept)
            cfg = replace(cfg, bucket=bucket)
            log.info(
                f"{bucket:,} n-gram buckets for {kept:,} words (--bucket): a .bin of about "
                f"{_mb((kept + bucket) * cfg.dim * 4)}"
            )
        log.info(
            f"{n_tokens} tokens, {kept} words with count >= {cfg.min_count}; training fastText "
            f"{cfg.model} dim {cfg.dim}, {cfg.epoch} epochs"
        )
        tmp_bin = Path(tmp) / "model.bin"
        model = _train_fasttext(corpus, cfg, where, tmp_bin)
        t_train = time.perf_counter() - t0 - t_tok
        if write_vec:
            from mltl.embeddings.vectors import save_vectors, vectors_from_fasttext

            tmp_vec = Path(tmp) / "model.vec"
            save_vectors(vectors_from_fasttext(model), tmp_vec, format="vec")
            os.replace(tmp_vec, vec_path)
        os.replace(tmp_bin, bin_path)
        if sp_out is not None:
            os.replace(sp_out, out.with_name(out.name + ".sp.model"))
    return {
        "lang": lang,
        "tokens": n_tokens,
        "types": len(counts),
        "vocab": len(model.get_words()),
        "bin": str(bin_path),
        "vec": str(vec_path) if write_vec else None,
        "tokenize_seconds": round(t_tok, 3),
        "train_seconds": round(t_train, 3),
        "seconds": round(time.perf_counter() - t0, 3),
        "config": asdict(cfg),
        "lowercase": lowercase,
    }


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e9 else f"{max(1, round(n_bytes / 1e6)):,} MB"


def fasttext_kwargs(cfg: EmbedConfig, corpus: str | Path) -> dict[str, Any]:
    """fastText's own argument names for ``cfg`` (what ``fasttext_child`` trains with).

    ``cfg.bucket`` None (sized to the corpus by :func:`train_embeddings`) is fastText's
    default here, :data:`MAX_BUCKET`. ``cfg.minn`` 0 means no subwords (as ``--minn``
    says): fastText itself turns them off only with ``maxn`` 0 (``minn`` 0 alone gives it
    1- and 2-grams too), so maxn is 0 then."""
    bucket = MAX_BUCKET if cfg.bucket is None else cfg.bucket
    return dict(
        input=str(corpus),
        model=cfg.model,
        dim=cfg.dim,
        minCount=cfg.min_count,
        epoch=cfg.epoch,
        lr=cfg.lr,
        ws=cfg.ws,
        neg=cfg.neg,
        minn=cfg.minn,
        maxn=0 if cfg.minn == 0 else cfg.maxn,
        bucket=bucket,
        thread=cfg.threads or os.cpu_count() or 1,
        seed=cfg.seed,
        verbose=0,
    )


def _train_fasttext(corpus: Path, cfg: EmbedConfig, where: str, out_bin: Path):
    """Train fastText on ``corpus`` in a fresh Python process, save ``out_bin`` and load it here.

    Why a process: the fastText binding (fasttext-numpy2 0.10.4) keeps state
    between trainings, and a second ``train_unsupervised`` in one process can
    diverge to "Encountered NaN" on a corpus that trains fine alone. A child
    started with ``python -m mltl.embeddings.fasttext_child`` (not
    multiprocessing, which would re-run an unguarded user script) starts clean
    every time, so the API can be called repeatedly from one notebook.
    """
    import json
    import subprocess
    import sys

    import fasttext

    kwargs = fasttext_kwargs(cfg, corpus)
    # the child imports this very mltl, even when it was put on sys.path by hand (a notebook)
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, "-m", "mltl.embeddings.fasttext_child", json.dumps(kwargs), str(out_bin)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        msg = lines[-1] if lines else f"exit status {proc.returncode}"
        if proc.returncode < 0:
            msg = f"killed by signal {-proc.returncode} (out of memory? try a smaller --bucket or --dim)"
        hint = ""
        if "NaN" in msg:
            # fastText reports NaN when training diverges or its loss average sees no example.
            hint = " (usually a corpus too small for these settings: give more text, more --epoch or --bucket)"
        raise InputError(f"fastText failed: {msg}{hint}", path=where)
    return fasttext.load_model(str(out_bin))


def _train_sp(paths: Sequence[str], fmt: str, tmp: Path, lang: str, encoding: str = "utf-8") -> Path:
    """Train a sentencepiece model on the raw inputs (for ``--tokenizer sentencepiece``)."""
    from mltl.text.tokenize import train_sentencepiece

    def lines() -> Iterator[str]:
        for path in paths:
            kind = _format_of(str(path), fmt)
            if kind == "jsonl":
                raise InputError("--tokenizer sentencepiece reads raw text, not tokenized JSONL", path=path)
            yield from _prose((ln for _, ln in iter_lines(path, encoding)), kind)

    if any(str(p) == STDIO for p in paths):
        raise InputError(
            "--tokenizer sentencepiece without --sp-model cannot read stdin twice; give files or --sp-model"
        )
    log.info(f"training a sentencepiece model for {lang}")
    return train_sentencepiece(lines(), tmp / "sp")
