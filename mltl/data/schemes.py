"""Tag schemes for span labels: BIO (IOB2), IOB1, BIOES and BILOU.

Pure functions over tag lists. mltl stores datasets in BIO; readers detect the
scheme of the input, validate it and convert. Spans are ``(type, start, end)``
with ``end`` exclusive, token indices.
"""

from __future__ import annotations

from typing import Iterable, Sequence

SCHEMES = ("bio", "iob1", "bioes", "bilou", "plain")
Span = tuple[str, int, int]

_PREFIXES = {"bio": "BI", "iob1": "BI", "bioes": "BIES", "bilou": "BILU"}


def split_tag(tag: str) -> tuple[str, str]:
    """``'B-PER' -> ('B', 'PER')``, ``'O' -> ('O', '')``; also accepts ``B_PER``."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESLU":
        return tag[0], tag[2:]
    return "", tag


def is_span_tagset(tags: Iterable[str]) -> bool:
    """True when every tag is ``O`` or ``<prefix>-<TYPE>`` (an entity scheme)."""
    return all(split_tag(t)[0] != "" for t in tags)


def detect_scheme(sentences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of tagged sentences: bio, iob1, bioes, bilou or plain.

    IOB1 is recognised by chunks that *start* with ``I-``, where ``B-`` belongs only
    between two adjacent chunks of the same type; anything else with B/I only is BIO.
    Real files break their own scheme now and then (CoNLL-2003's eng.train has 2
    ``B-`` tags after another type among 23,427 ``I-`` chunk starts; esp.train has 3
    ``I-`` starts in a BIO file), so the majority decides: IOB1 when ``I-`` chunk starts
    outnumber ``B-`` tags that follow another type; the strays are then problems that
    ``--repair`` fixes. Likewise tags that are neither ``O`` nor ``PREFIX-TYPE`` make the
    file plain only when they are at least as many as the entity tags.
    """
    prefixes: set[str] = set()
    i_starts = 0
    b_after_other = 0
    # Tags that are neither O nor PREFIX-TYPE. A file of labels (POS, ...) is plain; a few
    # strays in an entity file ("X-FOO", a typo) are not a reason to drop its spans, which
    # would turn entity F1 into per-token accuracy without a word: the majority decides,
    # and the caller then reports the strays against the span scheme.
    other = spans = 0
    for tags in sentences:
        prev_p, prev_t = "O", ""
        for tag in tags:
            p, t = split_tag(tag)
            if p == "":
                other += 1
                continue
            if p != "O":
                spans += 1
            prefixes.add(p)
            if p == "I" and (prev_p == "O" or prev_t != t):
                i_starts += 1
            if p == "B" and not (prev_p in "BI" and prev_t == t):
                b_after_other += 1
            prev_p, prev_t = p, t
    if other and other >= spans:
        return "plain"
    if prefixes & {"L", "U"}:
        return "bilou"
    if prefixes & {"E", "S"}:
        return "bioes"
    if i_starts > b_after_other:
        return "iob1"
    return "bio"


def problems(tags: Sequence[str], scheme: str) -> list[tuple[int, str]]:
    """Invalid transitions as ``(token_index, message)``; empty when the sequence is valid."""
    out: list[tuple[int, str]] = []
    if scheme in ("plain", "iob1"):
        return out  # any IOB1 sequence decodes; plain tags have no transitions
    allowed = _PREFIXES[scheme]
    inside = "I"
    end = {"bioes": "E", "bilou": "L"}.get(scheme)
    single = {"bioes": "S", "bilou": "U"}.get(scheme)
    prev_p, prev_t = "O", ""
    for i, tag in enumerate(tags):
        p, t = split_tag(tag)
        if p == "":
            out.append((i, f"tag {tag!r} is not O or {'/'.join(allowed)}-TYPE"))
        elif p != "O" and p not in allowed:
            out.append((i, f"prefix {p}- is not part of {scheme.upper()}"))
        elif p in (inside, end) and p != "O":
            if prev_p == "O" or prev_p in (end, single) or prev_t != t:
                after = "O" if prev_p == "O" else tags[i - 1] if i else "the sentence start"
                if i == 0:
                    after = "the sentence start"
                out.append((i, f"{tag} after {after}"))
        if end and prev_p in ("B", inside) and prev_p != "O" and p not in (inside, end):
            out.append((i - 1, f"{tags[i - 1]} is not closed by {end}-{prev_t}"))
        prev_p, prev_t = p, t
    if end and prev_p in ("B", inside) and tags:
        out.append((len(tags) - 1, f"{tags[-1]} is not closed by {end}-{prev_t} at sentence end"))
    return out


def to_spans(tags: Sequence[str]) -> list[Span]:
    """Decode tags of any span scheme (BIO, IOB1, BIOES, BILOU) to spans, leniently (as conlleval):
    an ``I-X`` that cannot continue the open chunk starts a new one."""
    spans: list[Span] = []
    start, cur = -1, ""

    def close(i: int) -> None:
        nonlocal start, cur
        if cur:
            spans.append((cur, start, i))
        start, cur = -1, ""

    for i, tag in enumerate(tags):
        p, t = split_tag(tag)
        if p in ("O", ""):
            close(i)
        elif p in ("S", "U"):
            close(i)
            spans.append((t, i, i + 1))
        elif p == "B":  # in IOB1 too, B- starts a new chunk (next to one of the same type)
            close(i)
            start, cur = i, t
        elif p in ("I", "E", "L"):
            if cur != t:
                close(i)
                start, cur = i, t
            if p in ("E", "L"):
                close(i + 1)
    close(len(tags))
    return spans


def from_spans(spans: Iterable[Span], length: int, scheme: str = "bio") -> list[str]:
    """Encode spans as tags in ``scheme`` (bio, iob1, bioes, bilou)."""
    tags = ["O"] * length
    ordered = sorted(spans, key=lambda s: s[1])
    prev_end, prev_type = -1, None
    for t, s, e in ordered:
        n = e - s
        if scheme in ("bioes", "bilou"):
            last, single = ("E", "S") if scheme == "bioes" else ("L", "U")
            if n == 1:
                tags[s] = f"{single}-{t}"
            else:
                tags[s] = f"B-{t}"
                for j in range(s + 1, e - 1):
                    tags[j] = f"I-{t}"
                tags[e - 1] = f"{last}-{t}"
        else:
            first = "B"
            if scheme == "iob1" and not (prev_end == s and prev_type == t):
                first = "I"
            tags[s] = f"{first}-{t}"
            for j in range(s + 1, e):
                tags[j] = f"I-{t}"
        prev_end, prev_type = e, t
    return tags


def convert(tags: Sequence[str], src: str, dst: str = "bio") -> list[str]:
    """Convert one tag sequence between span schemes (lenient decoding of ``src``)."""
    if src == dst or src == "plain":
        return list(tags)
    return from_spans(to_spans(tags), len(tags), dst)


def repair(tags: Sequence[str], scheme: str = "bio") -> list[str]:
    """Make a sequence valid by decoding leniently and re-encoding in the same scheme."""
    if scheme == "plain":
        return list(tags)
    return from_spans(to_spans(tags), len(tags), scheme)


def entity_types(tags: Iterable[str]) -> set[str]:
    return {split_tag(t)[1] for t in tags if t != "O" and split_tag(t)[0]}
