"""CoNLL-U through the ``conllu`` library: tags from UPOS, XPOS or a MISC key (``NER=``).

Multiword-token ranges (``1-2``) and empty nodes (``8.1``) are not tokens of the
sentence: the syntactic words carry the tags. Comments are skipped.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

from mltl.data.conll import Sentence
from mltl.errors import InputError
from mltl.files import ByteSpan, iter_lines


def _tag_getter(tag_field: str):
    f = tag_field.lower()
    if f in ("upos", "xpos", "deprel"):
        return lambda tok: tok.get(f) or "_"
    if f.startswith("misc:"):
        key = tag_field.split(":", 1)[1]
        return lambda tok: (tok.get("misc") or {}).get(key) or "O"
    raise InputError(f"unknown CoNLL-U tag field {tag_field!r}; use upos, xpos or misc:KEY (e.g. misc:NER)")


def read_conllu(
    path: str | Path, tag_field: str = "upos", encoding: str = "utf-8", span: ByteSpan | None = None
) -> Iterator[Sentence]:
    """Yield sentences of a CoNLL-U file with tags taken from ``tag_field``."""
    from conllu import parse_incr
    from conllu.exceptions import ParseException

    get = _tag_getter(tag_field)
    # Decode through our strict reader (byte-offset errors), one sentence block at a time,
    # so conllu parses in bounded memory and errors can name the block's first line.
    block: list[str] = []
    start = 1

    def parse(block_lines: list[str], first_line: int) -> Iterator[Sentence]:
        try:
            for tl in parse_incr(io.StringIO("\n".join(block_lines) + "\n\n")):
                toks, tags, lines = [], [], []
                for i, tok in enumerate(tl):
                    if not isinstance(tok["id"], int):
                        continue  # multiword range or empty node
                    toks.append(tok["form"])
                    tags.append(get(tok))
                    lines.append(first_line + len(tl.metadata) + i)
                if toks:
                    yield Sentence(toks, tags, lines, str(path))
        except ParseException as exc:
            raise InputError(f"malformed CoNLL-U sentence starting here: {exc}", path=path, line=first_line) from None

    for lineno, line in iter_lines(path, encoding, span):
        if not line.strip():
            if block:
                yield from parse(block, start)
                block = []
            continue
        if not block:
            start = lineno
        if not line.startswith("#") and len(line.split("\t")) != 10:
            raise InputError(
                f"CoNLL-U lines have 10 tab-separated columns, found {len(line.split(chr(9)))}", path=path, line=lineno
            )
        block.append(line)
    if block:
        yield from parse(block, start)
