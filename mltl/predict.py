"""Batched, streaming prediction: raw text / CoNLL / CoNLL-U / JSONL in, CoNLL or JSONL out.

Inputs are read in chunks, each chunk is predicted in length-bucketed batches under
``torch.inference_mode`` (:meth:`mltl.models.model.Model.predict_batch`) and written
before the next one is read, so memory stays flat however large the input is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from mltl.data import schemes
from mltl.data.conll import read_conll
from mltl.data.conllu_io import read_conllu
from mltl.data.jsonl import read_jsonl
from mltl.errors import InputError
from mltl.files import STDIO, ByteSpan, iter_lines

INPUT_FORMATS = ("text", "conll", "conllu", "jsonl")
OUTPUT_FORMATS = ("conll", "jsonl", "doccano", "labelstudio", "spacy")
CHUNK = 2048  # sentences read, predicted and written at a time


@dataclass
class Item:
    """One unit of input: a sentence (tagging) or a document (classification)."""

    tokens: list[str]
    text: str | None = None  # original text, when the input had one
    offsets: list[tuple[int, int]] | None = None  # char offsets of tokens into ``text``
    gold: list[str] | str | None = None  # gold tags / label carried through
    meta: dict = field(default_factory=dict)  # other JSONL keys, passed through


def detect_format(path: str, given: str | None = None, encoding: str = "utf-8") -> str:
    """Input format from ``--input-format`` or the file extension; a file whose extension
    says nothing (``.txt``) but whose lines are CoNLL columns ending in a tag is read as
    CoNLL (said on stderr); raw text otherwise."""
    if given:
        if given not in INPUT_FORMATS:
            raise InputError(f"unknown input format {given!r}; choose one of: {', '.join(INPUT_FORMATS)}")
        return given
    name = path.lower().removesuffix(".gz")
    for ext, fmt in (
        (".conllu", "conllu"),
        (".conll", "conll"),
        (".bio", "conll"),
        (".iob", "conll"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
    ):
        if name.endswith(ext):
            return fmt
    if looks_like_conll(path, encoding):
        from mltl import log

        log.info(f"{path}: read as CoNLL (token and tag columns; --input-format text for raw text)")
        return "conll"
    return "text"


_TAG = re.compile(r"^(O|[BIESLU][-_]\S+)$")


def looks_like_conll(path: str, encoding: str = "utf-8", sample: int = 200) -> bool:
    """True when the first lines of ``path`` are all CoNLL token lines: the same number
    (2 to 10) of columns, the last one a tag (``O``, ``B-X`` …), sentences split by blank
    lines. Raw text, one sentence per line, never has that shape."""
    if path == STDIO or not Path(path).is_file():
        return False
    seen = 0
    ncols = None
    try:
        for lineno, line in iter_lines(path, encoding):
            if lineno > sample:
                break
            cols = line.split("\t") if "\t" in line else line.split()
            if not cols or not line.strip() or cols[0] == "-DOCSTART-" or line.startswith("#"):
                continue
            if ncols is None:
                ncols = len(cols)
            if len(cols) != ncols or not 2 <= ncols <= 10 or not _TAG.match(cols[-1].strip()):
                return False
            seen += 1
    except (InputError, OSError):
        return False  # unreadable here: the reader proper says why
    return seen > 0


def read_items(
    path: str,
    fmt: str,
    tokenizer=None,
    encoding: str = "utf-8",
    tag_field: str = "misc:NER",
    span: ByteSpan | None = None,
) -> Iterator[Item]:
    """Stream :class:`Item` s from one input. Raw text: one sentence or document per line.

    ``span``: only that part of the file (a shard, :func:`mltl.sharding.shard_span`)."""
    if fmt == "text":
        if tokenizer is None:
            raise InputError("raw text needs a tokenizer (for CoNLL input give --input-format conll)", path=path)
        for _, line in iter_lines(path, encoding, span):
            spans = tokenizer.tokenize_with_offsets(line)
            yield Item([t for t, _, _ in spans], line, [(s, e) for _, s, e in spans])
    elif fmt == "conll":
        for s in read_conll(path, "conll", encoding=encoding, span=span):
            # one column = tokens only; two or more = the last column is gold, passed through
            yield Item(s.tokens, gold=s.tags if s.ncols > 1 else None)
    elif fmt == "conllu":
        for s in read_conllu(path, tag_field=tag_field, encoding=encoding, span=span):
            yield Item(s.tokens, gold=s.tags if tag_field else None)
    elif fmt == "jsonl":
        for lineno, obj in read_jsonl(path, encoding, span):
            gold = obj.get("tags", obj.get("label"))
            rest = {k: v for k, v in obj.items() if k not in ("text", "tokens", "tags", "label")}
            if "tokens" in obj:
                toks = obj["tokens"]
                if not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
                    raise InputError('"tokens" must be a list of strings', path=path, line=lineno)
                yield Item(list(toks), obj.get("text"), gold=gold, meta=rest)
            elif "text" in obj:
                if tokenizer is None:
                    raise InputError("JSONL with 'text' needs a tokenizer (give --lang)", path=path, line=lineno)
                spans = tokenizer.tokenize_with_offsets(str(obj["text"]))
                yield Item(
                    [t for t, _, _ in spans], str(obj["text"]), [(s, e) for _, s, e in spans], gold=gold, meta=rest
                )
            else:
                raise InputError('each JSONL object needs "text" or "tokens"', path=path, line=lineno)
    else:
        raise InputError(f"unknown input format {fmt!r}; choose one of: {', '.join(INPUT_FORMATS)}")


def items_from_text(text: str, tokenizer, split_lines: bool = True) -> list[Item]:
    """Raw text as ``mltl predict`` reads it: one item per line (LF or CRLF; ``split_lines``)
    or one for the whole text, token offsets into ``text`` itself."""
    parts: list[tuple[int, str]] = []
    if split_lines:
        start = 0
        for line in text.split("\n"):
            parts.append((start, line.removesuffix("\r")))
            start += len(line) + 1
    else:
        parts = [(0, text)]
    items = []
    for base, chunk in parts:
        spans = tokenizer.tokenize_with_offsets(chunk)
        items.append(Item([t for t, _, _ in spans], text, [(base + s, base + e) for _, s, e in spans]))
    return items


def chunks(items: Iterable[Item], size: int = CHUNK) -> Iterator[list[Item]]:
    buf: list[Item] = []
    for it in items:
        buf.append(it)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def entities(
    item: Item, tags: Sequence[str], scheme: str | None, tag_probs: Sequence[float] | None = None
) -> list[dict[str, Any]]:
    """Entity spans ``{start, end, label, text}``: char offsets into the original text when
    known (``end`` exclusive), token indices otherwise (``token_start``/``token_end``).
    With ``tag_probs`` (the probability of each predicted tag), each gets a ``score``: the
    mean over its tokens."""
    if scheme in (None, "plain"):
        return []
    out = []
    for label, s, e in schemes.to_spans(tags):
        ent: dict[str, Any] = {"label": label, "token_start": s, "token_end": e}
        if tag_probs is not None:
            ent["score"] = round(sum(tag_probs[s:e]) / (e - s), 6)
        if item.offsets is not None and item.text is not None:
            cs, ce = item.offsets[s][0], item.offsets[e - 1][1]
            ent.update(start=cs, end=ce, text=item.text[cs:ce])
        else:
            ent["text"] = " ".join(item.tokens[s:e])
        out.append(ent)
    return out


def sentence_score(tag_probs: Sequence[float], tags: Sequence[str] | None = None) -> float | None:
    """Confidence of a tagged sentence: the mean probability of the tags predicted *inside*
    entities (not ``O``); a sentence with no predicted entity gets its least probable tag (the
    risk there is a missed entity). Without ``tags``: the mean over all tags.

    Measured on gold CoNLL es/nl (docs/benchmarks.md, bench/bench_confidence.py), this ranks
    sentences by their entity F1 better than the plain mean, which the many sure ``O`` tags drown.
    """
    if not tag_probs:
        return None
    if tags is None:
        return round(sum(tag_probs) / len(tag_probs), 6)
    inside = [p for p, t in zip(tag_probs, tags) if t != "O"]
    return round(sum(inside) / len(inside) if inside else min(tag_probs), 6)


def with_text(item: Item) -> Item:
    """``item`` with a text and offsets: pre-tokenized input (CoNLL, JSONL tokens) gets its tokens
    joined by single spaces, so that character offsets always point into the written text."""
    if item.text is not None and item.offsets is not None:
        return item
    offsets, pos = [], 0
    for t in item.tokens:
        offsets.append((pos, pos + len(t)))
        pos += len(t) + 1
    return Item(item.tokens, " ".join(item.tokens), offsets, item.gold, item.meta)


def doccano_record(
    item: Item, pred: dict[str, Any], token_level: bool, scheme: str | None, scores: bool = False
) -> dict[str, Any]:
    """One line of doccano's JSONL import: ``text`` and ``label`` — ``[[start, end, TAG], …]`` for
    sequence labeling, ``[LABEL]`` for text classification; ``--scores`` adds ``score`` (and a
    score per span, in the order of ``label``), which doccano keeps as metadata."""
    item = with_text(item)
    rec: dict[str, Any] = {"text": item.text}
    if token_level:
        ents = entities(item, pred["tags"], scheme, pred.get("tag_probs"))
        rec["label"] = [[e["start"], e["end"], e["label"]] for e in ents]
        if scores:
            rec["score"] = sentence_score(pred.get("tag_probs") or [], pred.get("tags"))
            rec["label_scores"] = [e.get("score") for e in ents]
    else:
        rec["label"] = [pred["label"]]
        if scores:
            rec["score"] = round(max(pred["probs"].values()), 6) if pred.get("probs") else None
    return rec


def labelstudio_task(
    item: Item, pred: dict[str, Any], token_level: bool, scheme: str | None, model_version: str
) -> dict[str, Any]:
    """One task of Label Studio's JSON import: ``data.text`` (and the input's other JSONL keys) with
    the model's prediction — entity spans (``labels``) or the document label (``choices``), each with
    a ``score``, and the prediction's ``score`` (what Label Studio sorts tasks by)."""
    from mltl.data import labelstudio

    item = with_text(item)
    text = item.text or ""
    if token_level:
        ents = entities(item, pred["tags"], scheme, pred.get("tag_probs"))
        results = [
            labelstudio.span_result(i, e["start"], e["end"], e["text"], e["label"], e.get("score"))
            for i, e in enumerate(ents)
        ]
        score = sentence_score(pred.get("tag_probs") or [], pred.get("tags"))
    else:
        score = round(max(pred["probs"].values()), 6) if pred.get("probs") else None
        results = [labelstudio.choice_result(pred["label"], score)]
    return labelstudio.task(text, results, score, model_version, item.meta)


def spacy_doc(vocab: Any, item: Item, pred: dict[str, Any], token_level: bool, scheme: str | None) -> Any:
    """A spaCy ``Doc`` whose text is exactly the input's (whitespace between mltl's tokens kept: one
    space as the token's trailing space, more as a spaCy whitespace token), with ``doc.ents``
    (tagging) or ``doc.cats`` (classification: the label probabilities)."""
    from spacy.tokens import Doc, Span

    item = with_text(item)
    text = item.text or ""
    words: list[str] = []
    spaces: list[bool] = []
    index: list[int] = []  # mltl token i -> its word in the Doc

    def add_gap(gap: str) -> None:
        if gap.startswith(" ") and words and not spaces[-1]:
            spaces[-1], gap = True, gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)

    pos = 0
    for s, e in item.offsets or []:
        add_gap(text[pos:s])
        index.append(len(words))
        words.append(text[s:e])
        spaces.append(False)
        pos = e
    add_gap(text[pos:])
    doc = Doc(vocab, words=words, spaces=spaces)
    if token_level:
        doc.ents = [
            Span(doc, index[ent["token_start"]], index[ent["token_end"] - 1] + 1, label=ent["label"])
            for ent in entities(item, pred["tags"], scheme)
        ]
    else:
        doc.cats = {lab: float(p) for lab, p in (pred.get("probs") or {}).items()}
    return doc


def predict_docbin(
    model,
    items: Iterable[Item],
    lang: str,
    out: IO[bytes],
    batch_size: int = 256,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """``--format spacy``: every item as a ``Doc`` in one ``DocBin`` (``spacy train`` reads it;
    ``DocBin().from_disk``), written to the binary stream ``out`` at the end."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    vocab = Vocab()
    token_level = model.task.token_level
    docs = DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE"])
    n_items = n_tokens = 0
    for chunk in chunks(items):
        preds = model.predict_batch(lang, [it.tokens for it in chunk], batch_size=batch_size)
        for it, p in zip(chunk, preds):
            docs.add(spacy_doc(vocab, it, p, token_level, model.scheme))
            n_tokens += len(it.tokens)
        n_items += len(chunk)
        if on_chunk:
            on_chunk(n_items, n_tokens)
    out.write(docs.to_bytes())
    return {"items": n_items, "tokens": n_tokens}


def jsonl_record(
    item: Item,
    pred: dict[str, Any],
    token_level: bool,
    scheme: str | None,
    sources: Sequence[str],
    scores: bool = False,
) -> dict[str, Any]:
    rec: dict[str, Any] = dict(item.meta)
    if item.text is not None:
        rec["text"] = item.text
    if item.offsets is not None:
        rec["tokens"] = [{"text": t, "start": s, "end": e} for t, (s, e) in zip(item.tokens, item.offsets)]
    else:
        rec["tokens"] = item.tokens
    if token_level:
        rec["tags"] = pred["tags"]
        rec["entities"] = entities(item, pred["tags"], scheme, pred.get("tag_probs"))
        if scores or "tag_probs" in pred:  # an empty line has no tags: its score is None
            rec["score"] = sentence_score(pred.get("tag_probs") or [], pred.get("tags"))
    else:
        rec["label"] = pred["label"]
        rec["probs"] = pred["probs"]
        if scores:
            rec["score"] = round(max(pred["probs"].values()), 6) if pred["probs"] else None
        for key, value in pred.items():  # a plugin task's own fields, e.g. multi-label "labels"
            if key not in ("text", "tokens", "tags", "label", "probs", "gold") and not key.startswith("gate_"):
                rec[key] = value
    if item.gold is not None:
        rec["gold"] = item.gold
    for key in ("gate_fp", "gate_c"):
        if key in pred:
            rec.setdefault("gates", {"experts": list(sources)})[key.removeprefix("gate_")] = pred[key]
    return rec


def write_conll_item(out: IO[str], item: Item, pred: dict[str, Any]) -> None:
    """``token [gold] predicted`` per line, blank line after each sentence (conlleval layout)."""
    tags = pred.get("tags")
    if tags is None:  # classification in CoNLL form: one line per document
        out.write(f"{' '.join(item.tokens)}\t{pred['label']}\n")
        return
    for i, (tok, tag) in enumerate(zip(item.tokens, tags)):
        if isinstance(item.gold, list):
            out.write(f"{tok} {item.gold[i]} {tag}\n")
        else:
            out.write(f"{tok} {tag}\n")
    out.write("\n")


def predict_stream(
    model,
    items: Iterable[Item],
    lang: str,
    out: IO[str],
    fmt: str = "jsonl",
    gates: bool = False,
    batch_size: int = 256,
    on_chunk: Callable[[int, int], None] | None = None,
    scores: bool = False,
    model_version: str = "mltl",
) -> dict[str, int]:
    """Predict every item and write it to ``out`` in input order; returns counts.

    ``scores``: confidences in the JSON formats (``score`` per sentence/document and per entity);
    Label Studio tasks always carry them. ``labelstudio`` writes one JSON list, streamed.
    """
    if fmt not in OUTPUT_FORMATS:
        raise InputError(f"unknown output format {fmt!r}; choose one of: {', '.join(OUTPUT_FORMATS)}")
    token_level = model.task.token_level
    scores = scores or fmt == "labelstudio"
    n_items = n_tokens = 0
    sep = "\n"  # between Label Studio tasks
    if fmt == "labelstudio":
        out.write("[")
    for chunk in chunks(items):
        preds = model.predict_batch(
            lang, [it.tokens for it in chunk], batch_size=batch_size, gates=gates, scores=scores and token_level
        )
        for it, p in zip(chunk, preds):
            if fmt == "labelstudio":
                task = labelstudio_task(it, p, token_level, model.scheme, model_version)
                out.write(sep + json.dumps(task, ensure_ascii=False))
                sep = ",\n"
            elif fmt == "jsonl":
                rec = jsonl_record(it, p, token_level, model.scheme, model.sources, scores)
                out.write(json.dumps(rec, ensure_ascii=False))
                out.write("\n")
            elif fmt == "doccano":
                out.write(json.dumps(doccano_record(it, p, token_level, model.scheme, scores), ensure_ascii=False))
                out.write("\n")
            else:
                write_conll_item(out, it, p)
            n_tokens += len(it.tokens)
        n_items += len(chunk)
        out.flush()
        if on_chunk:
            on_chunk(n_items, n_tokens)
    if fmt == "labelstudio":
        out.write("\n]\n")
    return {"items": n_items, "tokens": n_tokens}
