"""CoNLL column files: CoNLL-2002 (``token tag``), CoNLL-2003 (``token POS chunk tag``)
or any columns chosen by index; tab- or space-separated; CRLF and trailing blanks ok.

Comment lines (``# sent_id = …``, ``# text = …``: UD-derived NER sets, GermEval,
annotation-tool exports) are skipped; a ``#`` *token* stays a token. The two are told
apart by shape: a line starting with ``#`` is a token line only when it has the file's
column count and separator and is not ``# key = value``. ``# text = …`` is kept as the
sentence's raw text.

Streaming: sentences are yielded one at a time, each with the line number of every
token so that later checks can point at ``file:line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from mltl.errors import InputError
from mltl.files import ByteSpan, iter_lines

# format name -> (expected number of columns or None for "any, but constant", token col, tag col)
CONLL_FORMATS = {
    "conll2002": (2, 0, -1),
    "conll2003": (4, 0, -1),
    "conll": (None, 0, -1),
}


# "# key = value" (CoNLL-U style metadata) is a comment whatever its column count.
_META = re.compile(r"^#\s*([\w.:-]+\s*=|newdoc\b|newpar\b)")


@dataclass
class Sentence:
    """One tagged sentence; ``lines[i]`` is the 1-based source line of token ``i``."""

    tokens: list[str]
    tags: list[str]
    lines: list[int] = field(default_factory=list)
    source: str = ""
    ncols: int = 0  # columns per token line (1 = tokens only, no tag column)
    text: str | None = None  # raw sentence text from a "# text = …" comment, when the file has one


def _split(line: str) -> list[str]:
    # A tab-separated line keeps its empty columns ("1\tFoo\tO\t\t"); else any whitespace.
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


def read_conll(
    path: str | Path,
    fmt: str = "conll2002",
    token_col: int | None = None,
    tag_col: int | None = None,
    encoding: str = "utf-8",
    span: ByteSpan | None = None,
) -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL column file.

    ``-DOCSTART-`` lines are document markers, not tokens; ``#`` comment lines are
    skipped (see the module docstring). The separator is a tab when the line has one
    (tokens may then contain spaces; empty columns are kept), else any whitespace.
    Every token line must have the same number of columns as the first one.
    """
    if fmt not in CONLL_FORMATS:
        raise InputError(f"unknown CoNLL format {fmt!r}; choose one of: {', '.join(CONLL_FORMATS)}")
    ncols, tcol, gcol = CONLL_FORMATS[fmt]
    tcol = tcol if token_col is None else token_col
    gcol = gcol if tag_col is None else tag_col
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    text: str | None = None
    expected = ncols
    tabbed: bool | None = None  # separator of the token lines, once one is seen
    # "#" lines met before the column count is known: comments or tokens, decided by the
    # first ordinary token line.
    pending: list[tuple[int, str, list[str]]] = []

    def flush() -> Iterator[Sentence]:
        nonlocal tokens, tags, lines, text, pending
        pending = []
        if tokens:
            yield Sentence(tokens, tags, lines, str(path), expected or 0, text)
        tokens, tags, lines, text = [], [], [], None

    def add(lineno: int, line: str, cols: list[str]) -> None:
        if len(cols) != expected:
            raise InputError(
                f"expected {expected} columns ({fmt}), found {len(cols)}: {line[:60]!r}", path=path, line=lineno
            )
        try:
            tok, tag = cols[tcol], cols[gcol]
        except IndexError:
            raise InputError(
                f"no column {tcol if abs(tcol) >= len(cols) else gcol} in a line of {len(cols)} columns",
                path=path,
                line=lineno,
            ) from None
        if any(c.isspace() for c in tag):
            # a tab line in a space-separated file ("vive<TAB>O extra") splits on the tab only;
            # its tag would carry the rest of the line into the label set
            raise InputError(
                f"tag {tag!r} contains a space (tab and space separators mixed?): {line[:60]!r}",
                path=path,
                line=lineno,
            )
        tokens.append(tok)
        tags.append(tag)
        lines.append(lineno)

    for lineno, raw in iter_lines(path, encoding, span):
        line = raw.rstrip("\r\n")
        if not line.strip():
            yield from flush()
            continue
        cols = _split(line)
        if cols[0] == "-DOCSTART-":
            yield from flush()
            continue
        if line.startswith("#"):
            if _META.match(line):
                m = re.match(r"^#\s*text\s*=\s?(.*)$", line)
                if m and not tokens:
                    text = m.group(1).strip()
                continue
            if expected is None:
                pending.append((lineno, line, cols))
                continue
            if len(cols) != expected or (tabbed is not None and ("\t" in line) != tabbed):
                continue  # a comment: its shape is not a token line's
        if expected is None:
            expected = len(cols)
        if tabbed is None:
            tabbed = "\t" in line
        for p_lineno, p_line, p_cols in pending:  # now decidable: tokens if shaped like this line
            if len(p_cols) == expected and ("\t" in p_line) == tabbed:
                add(p_lineno, p_line, p_cols)
        pending = []
        add(lineno, line, cols)
    yield from flush()


def write_conll(sentences: Iterable[tuple[list[str], list[str]] | Sentence], out: IO[str], sep: str = " ") -> int:
    """Write ``token<sep>tag`` lines with a blank line after each sentence; returns the count."""
    n = 0
    for s in sentences:
        toks, tags = (s.tokens, s.tags) if isinstance(s, Sentence) else s
        for tok, tag in zip(toks, tags):
            out.write(f"{tok}{sep}{tag}\n")
        out.write("\n")
        n += 1
    return n
