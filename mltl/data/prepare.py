"""`mltl prepare`: labeled files and raw text of one language -> a canonical dataset dir.

Output (written to a temp dir and renamed at the end)::

    train.jsonl / dev.jsonl / test.jsonl   {"tokens": [...], "tags": [...]}            (tagging)
                                           {"text": ..., "tokens": [...], "label": ...} (classification)
    unlabeled.jsonl                        {"tokens": [...]}  one sentence per line
    sp.model                               when a sentencepiece model was trained here
    meta.json                              language, task, scheme, labels, counts, sources + sha256
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from mltl import __version__
from mltl.data import schemes
from mltl.data.classify import CLS_FORMATS, Document, read_classification
from mltl.data.conll import CONLL_FORMATS, Sentence, read_conll
from mltl.data.conllu_io import read_conllu
from mltl.data.jsonl import write_jsonl
from mltl.data.labelmap import check_tag_map, map_tags, parse_label_map
from mltl.errors import InputError
from mltl.files import STDIO, atomic_dir, check_nonempty, iter_lines, sha256_file
from mltl.langs import check_lang
from mltl.text.tokenize import TOKENIZERS, get_tokenizer, train_sentencepiece

TAGGING_FORMATS = (*CONLL_FORMATS, "conllu", "doccano", "labelstudio", "spacy")
TEXT_FORMATS = ("text", "roff", "html")
ROLES = ("train", "dev", "test")


@dataclass(frozen=True)
class DataKind:
    """What ``prepare --task`` reads: labeled per token, labeled per document, or raw text."""

    name: str
    labeled: bool
    token_level: bool
    default_format: str
    formats: tuple[str, ...]
    unit: str  # what one record is, in summaries


KINDS = {
    k.name: k
    for k in (
        DataKind("tagging", True, True, "conll2002", TAGGING_FORMATS, "sentences"),
        DataKind("classification", True, False, "tsv", CLS_FORMATS, "documents"),
        DataKind("unlabeled", False, False, "text", TEXT_FORMATS, "sentences"),
    )
}
TASKS = tuple(KINDS)


@dataclass
class SplitStats:
    """Counts for one output file, shown in the summary table and saved in meta.json."""

    items: int = 0
    tokens: int = 0
    labels: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        return {"items": self.items, "tokens": self.tokens, "labels": dict(sorted(self.labels.items()))}


def _label_list(labels: Sequence[str] | str | None) -> list[str] | None:
    """``--labels``: ``"A,B"`` or repeated values -> the label list (None: no check)."""
    if labels is None or (not isinstance(labels, str) and not labels):
        return None
    parts = [labels] if isinstance(labels, str) else list(labels)
    out = [x.strip() for part in parts for x in part.split(",") if x.strip()]
    if not out:
        raise InputError("--labels names no label")
    return out


def parse_split(spec: str) -> tuple[int, ...]:
    """``'80/10/10'`` -> (80, 10, 10) for train/dev/test; ``'80/20'`` -> train/test."""
    try:
        parts = tuple(int(p) for p in spec.replace(",", "/").split("/"))
    except ValueError:
        raise InputError(f"--split {spec!r}: expected integers like 80/10/10") from None
    if len(parts) not in (2, 3) or any(p < 0 for p in parts):
        raise InputError(f"--split {spec!r}: give train/test or train/dev/test percentages")
    if sum(parts) != 100:
        raise InputError(f"--split {spec!r} sums to {sum(parts)}, not 100")
    return parts if len(parts) == 3 else (parts[0], 0, parts[1])


def _assign(items: list, roles_of_files: list[str], split: tuple[int, ...] | None, seed: int) -> dict[str, list]:
    out: dict[str, list] = {r: [] for r in ROLES}
    if split is None:
        for role, it in zip(roles_of_files, items):
            out[role].extend(it)
        return out
    pool = [x for it in items for x in it]
    random.Random(seed).shuffle(pool)
    n = len(pool)
    n_train = round(n * split[0] / 100)
    n_dev = round(n * split[1] / 100)
    out["train"], out["dev"], out["test"] = pool[:n_train], pool[n_train : n_train + n_dev], pool[n_train + n_dev :]
    return out


def _read_tagged(
    path: str,
    fmt: str,
    encoding: str,
    token_col: int | None,
    tag_col: int | None,
    tag_field: str,
    token_prefix: str | None = None,
) -> list[Sentence]:
    if fmt == "conllu":
        sents = list(read_conllu(path, tag_field=tag_field, encoding=encoding))
    else:
        sents = list(read_conll(path, fmt=fmt, token_col=token_col, tag_col=tag_col, encoding=encoding))
    if token_prefix:  # WikiANN's "de:Teil" -> "Teil", whatever the reader
        n = len(token_prefix)
        for s in sents:
            s.tokens = [t[n:] if t.startswith(token_prefix) and len(t) > n else t for t in s.tokens]
    return sents


def _fix_scheme(files: list[list[Sentence]], scheme: str | None, repair: bool) -> tuple[str, int]:
    """Detect/validate the scheme, convert to BIO in place; returns (source scheme, repaired count).

    Detected per file: one dataset may join files of different schemes (German NER:
    Europarl train in IOB1, CoNLL-2003 dev/test in BIO). The returned scheme names
    them all ("iob1+bio") when they differ.
    """
    if scheme is not None and scheme not in schemes.SCHEMES:
        raise InputError(f"unknown tag scheme {scheme!r}; choose one of: {', '.join(schemes.SCHEMES)}")
    per_file = [scheme or schemes.detect_scheme(s.tags for s in f) for f in files]
    if "plain" in per_file and scheme is None and len(set(per_file)) > 1:
        per_file = ["plain"] * len(files)  # one file without spans: treat every file's tags as labels
    for f, sch in zip(files, per_file):
        if sch != "plain" and not schemes.is_span_tagset(t for s in f for t in s.tags):
            bad = next((s, i) for s in f for i, t in enumerate(s.tags) if not schemes.split_tag(t)[0])
            raise InputError(
                f"tag {bad[0].tags[bad[1]]!r} does not fit the {sch.upper()} scheme "
                "(use --scheme plain for tags without spans)",
                path=bad[0].source,
                line=bad[0].lines[bad[1]],
            )
    found: list[tuple[Sentence, int, str, str]] = []
    for f, sch in zip(files, per_file):
        for s in f:
            found.extend((s, i, msg, sch) for i, msg in schemes.problems(s.tags, sch))
    if found and not repair:
        s, i, msg, sch = found[0]
        more = f" ({len(found)} problems in all)" if len(found) > 1 else ""
        raise InputError(
            f"invalid {sch.upper()} sequence: {msg}{more}; pass --repair to fix", path=s.source, line=s.lines[i]
        )
    bad_sents = {id(s) for s, _, _, _ in found}
    for f, sch in zip(files, per_file):
        for s in f:
            if id(s) in bad_sents:
                s.tags = schemes.repair(s.tags, sch)
            if sch not in ("bio", "plain"):
                s.tags = schemes.convert(s.tags, sch, "bio")
    names = list(dict.fromkeys(per_file))
    return "+".join(names), len(found)


def _text_lines(path: str, fmt: str, encoding: str) -> Iterable[str]:
    if fmt == "roff":
        from mltl.text.roff import roff_to_paragraphs

        return roff_to_paragraphs(line for _, line in iter_lines(path, encoding))
    if fmt == "html":
        from mltl.text.htmltext import html_to_lines

        return html_to_lines(line for _, line in iter_lines(path, encoding))
    return (line for _, line in iter_lines(path, encoding))


def _write_unlabeled(
    files: Sequence[str], fmt: str, tok, out_path: Path, encoding: str, on_progress: Callable[[int], None] | None
) -> SplitStats:
    """Stream raw text -> sentences -> ``unlabeled.jsonl`` in bounded memory."""
    stats = SplitStats()
    with open(out_path, "w", encoding="utf-8") as out:
        for path in files:
            lines = _text_lines(path, fmt, encoding)

            def counted(it=lines):
                for ln in it:
                    if on_progress:
                        on_progress(len(ln.encode("utf-8")) + 1)
                    yield ln

            for sents in tok.sentences(counted()):
                for sent in sents:
                    out.write(json.dumps({"tokens": sent}, ensure_ascii=False))
                    out.write("\n")
                    stats.items += 1
                    stats.tokens += len(sent)
    return stats


def _source(path: str, role: str) -> dict:
    if path == STDIO:
        return {"path": "<stdin>", "role": role}
    p = Path(path)
    return {"path": str(p), "role": role, "bytes": p.stat().st_size, "sha256": sha256_file(p)}


def prepare(
    inputs: Sequence[str],
    out: str | Path,
    *,
    task: str,
    lang: str,
    fmt: str | None = None,
    unlabeled: Sequence[str] = (),
    tokenizer: str = "spacy",
    sp_model: str | None = None,
    sp_vocab_size: int = 8000,
    scheme: str | None = None,
    repair: bool = False,
    split: str | None = None,
    seed: int = 1,
    token_col: int | None = None,
    tag_col: int | None = None,
    tag_field: str = "upos",
    text_field: str = "text",
    label_field: str = "label",
    header: bool | None = None,
    label_map: Sequence[str] | str | None = None,
    token_prefix: str | None = None,
    labels: Sequence[str] | str | None = None,
    skip_unannotated: bool = False,
    encoding: str = "utf-8",
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Build a dataset directory; returns its ``meta.json`` content.

    ``inputs`` are labeled files (train, dev, test in that order, or any number with
    ``split``) for ``task`` tagging/classification, or raw text for ``task='unlabeled'``.
    ``unlabeled`` adds raw text to a labeled dataset. ``on_progress(done, total)``
    reports bytes of raw text processed. ``label_map`` (``"FROM=TO,…"``, see
    :mod:`mltl.data.labelmap`) renames, folds or drops labels; ``header`` says whether a
    TSV/CSV file starts with a header row (default: CSV yes, TSV no); ``token_prefix`` is
    stripped from CoNLL tokens (WikiANN's ``de:``). ``labels`` (a list or ``"A,B,…"``): the only
    labels (entity types) a labeling tool's export (doccano, Label Studio) may use — any other is an
    error naming the record; ``skip_unannotated`` leaves out Label Studio tasks nobody labeled.
    """
    t0 = time.perf_counter()
    if task not in KINDS:
        raise InputError(f"unknown task {task!r}; choose one of: {', '.join(KINDS)}")
    kind = KINDS[task]
    lang = check_lang(lang)
    if tokenizer not in TOKENIZERS:
        raise InputError(f"unknown tokenizer {tokenizer!r}; choose one of: {', '.join(TOKENIZERS)}")
    if not inputs:
        raise InputError("no input files given")
    raw_files = list(unlabeled) if kind.labeled else list(inputs)
    labeled_files = list(inputs) if kind.labeled else []
    fmt = fmt or kind.default_format
    valid = kind.formats
    if fmt not in valid:
        raise InputError(f"unknown format {fmt!r} for {task}; choose one of: {', '.join(valid)}")
    if split and not kind.labeled:
        raise InputError(
            "--split divides labeled data into train/dev/test; raw text (--task unlabeled) all goes "
            "to unlabeled.jsonl: drop --split"
        )
    split_t = parse_split(split) if split else None
    known = _label_list(labels)
    if known is not None and fmt not in ("doccano", "labelstudio"):
        raise InputError("--labels checks a labeling tool's export: use it with --format doccano or labelstudio")
    if skip_unannotated and fmt != "labelstudio":
        raise InputError("--skip-unannotated reads a Label Studio export: use it with --format labelstudio")
    lmap = parse_label_map(label_map)
    if lmap and not kind.labeled:
        raise InputError("--label-map needs labeled input (raw text has no labels)")
    if kind.token_level:
        check_tag_map(lmap)
    if labeled_files and split_t is None and len(labeled_files) > 3:
        raise InputError(f"{len(labeled_files)} labeled files: give train, dev, test (at most 3) or use --split")
    for p in [*labeled_files, *raw_files]:
        check_nonempty(p)
    if STDIO in labeled_files + raw_files and (labeled_files + raw_files).count(STDIO) > 1:
        raise InputError("'-' (stdin) can be given once")

    roles = list(ROLES[: len(labeled_files)]) if split_t is None else ["train"] * len(labeled_files)
    meta: dict = {
        "mltl_version": __version__,
        "language": lang,
        "task": task,
        "format": fmt,
        "tokenizer": {"kind": tokenizer},
        "splits": {},
        "sources": [],
    }
    # Read and validate all labeled data *before* creating the output, so bad input leaves nothing.
    out_records: dict[str, list[dict]] = {}
    stats: dict[str, SplitStats] = {}
    problems = 0
    if kind.token_level:
        if fmt == "doccano":  # raw text + character spans: tokenized here, spans become BIO tags
            from mltl.data.doccano import read_doccano_tagged

            tok_spans = get_tokenizer(lang, tokenizer, sp_model=sp_model)
            read = [read_doccano_tagged(p, tok_spans, repair, encoding, known) for p in labeled_files]
            files = [f for f, _ in read]
            meta["spans_snapped"] = sum(n for _, n in read)
        elif fmt == "labelstudio":  # the JSON export: tasks, their latest annotation's spans
            from mltl.data.labelstudio import read_labelstudio_tagged

            tok_spans = get_tokenizer(lang, tokenizer, sp_model=sp_model)
            ls = [
                read_labelstudio_tagged(p, tok_spans, repair, encoding, text_field, known, skip_unannotated)
                for p in labeled_files
            ]
            files = [f for f, _ in ls]
            meta["spans_snapped"] = sum(c["spans_snapped"] for _, c in ls)
            meta["tasks_skipped"] = sum(c["tasks_skipped"] for _, c in ls)
        elif fmt == "spacy":  # a DocBin: spaCy's tokens and doc.ents
            from mltl.data.doccano import read_docbin_tagged

            files = [read_docbin_tagged(p) for p in labeled_files]
        else:
            files = [_read_tagged(p, fmt, encoding, token_col, tag_col, tag_field, token_prefix) for p in labeled_files]
        for p, f in zip(labeled_files, files):
            if not f:
                raise InputError("no sentences found", path=p)
        if lmap:
            spans = scheme != "plain" and schemes.is_span_tagset(t for f in files for s in f for t in s.tags)
            for f in files:
                for s in f:
                    s.tags = map_tags(s.tags, lmap, spans)
        src_scheme, problems = _fix_scheme(files, scheme, repair)
        meta["source_scheme"] = src_scheme
        meta["scheme"] = "plain" if src_scheme == "plain" else "bio"
        for role, sents in _assign(files, roles, split_t, seed).items():
            if not sents:
                continue
            st = stats[role] = SplitStats()
            recs = out_records[role] = []
            for s in sents:
                rec = {"tokens": s.tokens, "tags": s.tags}
                if s.text is not None:  # "# text = …": the raw sentence, for character offsets
                    rec["text"] = s.text
                recs.append(rec)
                st.items += 1
                st.tokens += len(s.tokens)
                if meta["scheme"] == "bio":
                    st.labels.update(t for t, _, _ in schemes.to_spans(s.tags))
                else:
                    st.labels.update(s.tags)
        tagset = sorted({t for recs in out_records.values() for r in recs for t in r["tags"]})
        meta["labels"] = tagset
        if meta["scheme"] == "bio":
            meta["entity_types"] = sorted(schemes.entity_types(tagset))
    elif kind.labeled:
        files_docs: list[list[Document]] = []
        dropped = 0
        for p in labeled_files:
            docs = list(
                read_classification(
                    p,
                    fmt,
                    text_field,
                    label_field,
                    encoding,
                    header=header,
                    labels=known,
                    skip_unannotated=skip_unannotated,
                )
            )
            if not docs:
                raise InputError("no documents found", path=p)
            if lmap:
                kept = []
                for d in docs:
                    d.label = lmap.get(d.label, d.label)
                    if d.label:
                        kept.append(d)
                dropped += len(docs) - len(kept)
                if not kept:
                    raise InputError("--label-map dropped every document", path=p)
                docs = kept
            files_docs.append(docs)
        if lmap:
            meta["dropped_by_label_map"] = dropped
        tok_cls = get_tokenizer(lang, tokenizer, sp_model=sp_model)
        for role, docs in _assign(files_docs, roles, split_t, seed).items():
            if not docs:
                continue
            st = stats[role] = SplitStats()
            recs = out_records[role] = []
            for d, toks in zip(docs, tok_cls.pipe(d.text for d in docs)):
                recs.append({"text": d.text, "tokens": toks, "label": d.label})
                st.items += 1
                st.tokens += len(toks)
                st.labels[d.label] += 1
        meta["scheme"] = None
        meta["labels"] = sorted({r["label"] for recs in out_records.values() for r in recs})
    if lmap:
        meta["label_map"] = lmap
    for role, p in zip(roles, labeled_files):
        meta["sources"].append(_source(p, role))

    with atomic_dir(out, force=force) as tmp:
        for role, recs in out_records.items():
            with open(tmp / f"{role}.jsonl", "w", encoding="utf-8") as fh:
                write_jsonl(recs, fh)
        if raw_files:
            if tokenizer == "sentencepiece" and sp_model is None:
                sp_model = str(
                    train_sentencepiece(
                        (ln for p in raw_files for ln in _text_lines(p, "text" if kind.labeled else fmt, encoding)),
                        tmp / "sp",
                        vocab_size=sp_vocab_size,
                    )
                )
                meta["tokenizer"]["sp_model"] = "sp.model"
            tok = get_tokenizer(lang, tokenizer, sp_model=sp_model)
            total = sum(Path(p).stat().st_size for p in raw_files if p != STDIO)
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                done += n
                if on_progress:
                    on_progress(done, total)

            st = _write_unlabeled(
                raw_files, "text" if kind.labeled else fmt, tok, tmp / "unlabeled.jsonl", encoding, progress
            )
            if st.items == 0:
                raise InputError("no text found", path=raw_files[0])
            stats["unlabeled"] = st
            for p in raw_files:
                meta["sources"].append(_source(p, "unlabeled"))
        if sp_model and "sp_model" not in meta["tokenizer"]:
            meta["tokenizer"]["sp_model"] = str(sp_model)
        meta["splits"] = {k: v.to_json() for k, v in stats.items()}
        meta["problems_repaired"] = problems
        meta["seconds"] = round(time.perf_counter() - t0, 3)
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return meta
