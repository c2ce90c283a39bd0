"""Labeling tools' exports as mltl data: doccano's JSONL and spaCy's DocBin (``mltl predict
--format doccano | spacy`` writes the same formats, so a corrected export comes back in).

Sequence labeling: ``{"text": …, "label": [[start, end, "TAG"], …]}`` (older doccano: ``labels``);
the text is tokenized with the dataset's tokenizer and each span becomes BIO tags on the tokens
it covers. A span whose ends are not token boundaries is an error naming the record (its ``id``
when the export has one) — or, with ``repair``, it is snapped outward to whole tokens and counted.
Text classification: ``{"text": …, "label": ["LABEL"]}`` (one label per document).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from mltl.data.classify import Document
from mltl.data.conll import Sentence
from mltl.data.jsonl import read_jsonl
from mltl.errors import InputError


def _records(path: str | Path, encoding: str) -> Iterator[tuple[int, str, Any, str]]:
    """(line, text, label value, how to name the record) of each JSONL object."""
    for lineno, obj in read_jsonl(path, encoding):
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InputError('each doccano record needs a "text" string', path=path, line=lineno)
        label = obj.get("label", obj.get("labels", []))
        name = f"record id {obj['id']}" if "id" in obj else "record"
        yield lineno, obj["text"], label, name


def check_label(name: str, label: str, labels: Iterable[str] | None, path: str | Path, line: int | None = None) -> None:
    """``--labels``: a label outside the known set is an error naming the record."""
    if labels is not None and label not in labels:
        known = ", ".join(sorted(labels))
        raise InputError(f"{name}: label {label!r} is not one of the known labels ({known})", path=path, line=line)


def read_doccano_tagged(
    path: str | Path,
    tokenizer: Any,
    repair: bool = False,
    encoding: str = "utf-8",
    labels: Iterable[str] | None = None,
) -> tuple[list[Sentence], int]:
    """Sentences with BIO tags from doccano sequence-labeling records; returns (sentences, spans snapped)."""
    sents: list[Sentence] = []
    snapped = 0
    for lineno, text, label, name in _records(path, encoding):
        if not isinstance(label, list) or not all(
            isinstance(s, (list, tuple))
            and len(s) == 3
            and isinstance(s[0], int)
            and isinstance(s[1], int)
            and isinstance(s[2], str)
            for s in label
        ):
            raise InputError(
                f'{name}: expected "label": [[start, end, TAG], …] (a sequence-labeling record; '
                "is this a text-classification export?)",
                path=path,
                line=lineno,
            )
        for _, _, tag in label:
            check_label(name, tag, labels, path, lineno)
        sent, n = spans_to_sentence(text, [(a, b, t) for a, b, t in label], tokenizer, repair, name, path, lineno)
        snapped += n
        if sent is not None:
            sents.append(sent)
    return sents, snapped


def spans_to_sentence(
    text: str,
    spans: list[tuple[int, int, str]],
    tokenizer: Any,
    repair: bool,
    name: str,
    path: str | Path,
    line: int | None = None,
) -> tuple[Sentence | None, int]:
    """``text`` tokenized, with BIO tags from character spans ``(start, end, TAG)`` (``end``
    exclusive); returns (sentence — None for a text without tokens —, spans snapped).

    A span whose ends are not token boundaries is an error naming ``name`` (the record or task),
    or with ``repair`` it is widened to the tokens it touches; overlapping spans are an error.
    """
    toks = tokenizer.tokenize_with_offsets(text)
    if not toks:
        return None, 0
    tags = ["O"] * len(toks)
    snapped = 0
    for start, end, tag in sorted(spans, key=lambda s: (s[0], s[1])):
        if not 0 <= start < end <= len(text):
            raise InputError(
                f"{name}: span [{start}, {end}] lies outside its text ({len(text)} characters)", path=path, line=line
            )
        first = next((i for i, (_, s, _) in enumerate(toks) if s == start), None)
        last = next((i for i, (_, _, e) in enumerate(toks) if e == end), None)
        if first is None or last is None or last < first:
            if not repair:
                raise InputError(
                    f"{name}: span [{start}, {end}] {text[start:end]!r} ({tag}) does not start and end on "
                    f"token boundaries; pass --repair to snap it to whole tokens",
                    path=path,
                    line=line,
                )
            cover = [i for i, (_, s, e) in enumerate(toks) if s < end and e > start]
            if not cover:
                raise InputError(f"{name}: span [{start}, {end}] covers no token", path=path, line=line)
            first, last = cover[0], cover[-1]
            snapped += 1
        if any(t != "O" for t in tags[first : last + 1]):
            raise InputError(f"{name}: span [{start}, {end}] ({tag}) overlaps another span", path=path, line=line)
        tags[first] = f"B-{tag}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{tag}"
    lines = [line or 0] * len(toks)
    return Sentence([t for t, _, _ in toks], tags, lines, str(path), 2, text), snapped


def read_doccano_documents(
    path: str | Path, encoding: str = "utf-8", labels: Iterable[str] | None = None
) -> Iterator[Document]:
    """Documents from doccano text-classification records (one label each)."""
    known = labels
    for lineno, text, label, name in _records(path, encoding):
        labels = [label] if isinstance(label, str) else label
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise InputError(
                f'{name}: expected "label": ["LABEL"] (a text-classification record; is this a '
                "sequence-labeling export?)",
                path=path,
                line=lineno,
            )
        if len(labels) != 1:
            raise InputError(
                f"{name}: {len(labels)} labels; a classification dataset takes exactly one per document",
                path=path,
                line=lineno,
            )
        check_label(name, labels[0], known, path, lineno)
        if not text.strip():
            raise InputError(f"{name}: empty text", path=path, line=lineno)
        yield Document(text.strip(), labels[0], lineno, str(path))


def read_docbin_tagged(path: str | Path) -> list[Sentence]:
    """Sentences from a spaCy DocBin (``.spacy``): the Doc's tokens (whitespace tokens left out)
    and BIO tags from ``doc.ents``."""
    out: list[Sentence] = []
    for n, doc in enumerate(_docbin(path), 1):
        keep = [t for t in doc if not t.text.isspace()]  # (is_space needs a language vocab)
        if not keep:
            continue
        tags = []
        for t in keep:
            tags.append("O" if not t.ent_type_ else f"{'B' if t.ent_iob_ == 'B' else 'I'}-{t.ent_type_}")
        out.append(Sentence([t.text for t in keep], tags, [n] * len(keep), str(path), 2, doc.text))
    return out


def read_docbin_documents(path: str | Path) -> Iterator[Document]:
    """Documents from a spaCy DocBin: the text and the best-scoring ``doc.cats`` label."""
    for n, doc in enumerate(_docbin(path), 1):
        if not doc.cats:
            raise InputError(
                f"Doc {n} has no doc.cats (a text-classification DocBin gives each Doc its labels)", path=path
            )
        if not doc.text.strip():
            raise InputError(f"Doc {n}: empty text", path=path)
        yield Document(doc.text.strip(), max(doc.cats, key=doc.cats.get), n, str(path))


def _docbin(path: str | Path) -> Iterator[Any]:
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", path=p)
    try:
        docs = DocBin().from_disk(p)
    except Exception as exc:  # noqa: BLE001 - msgpack/zlib errors of a file that is no DocBin
        raise InputError(f"not a spaCy DocBin ({type(exc).__name__})", path=p) from None
    yield from docs.get_docs(Vocab())


__all__ = [
    "spans_to_sentence",
    "read_doccano_tagged",
    "read_doccano_documents",
    "read_docbin_tagged",
    "read_docbin_documents",
]
