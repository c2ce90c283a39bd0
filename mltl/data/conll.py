"""CoNLL column files: CoNLL-2002 (``token tag``), CoNLL-2003 (``token POS chunk tag``)
or any columns chosen by index; tab- or space-separated; CRLF and trailing blanks ok.

Streaming: sentences are yielded one at a time, each with the line number of every
token so that later checks can point at ``file:line``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from mltl.errors import InputError
from mltl.files import iter_lines

# format name -> (expected number of columns or None for "any, but constant", token col, tag col)
CONLL_FORMATS = {
    "conll2002": (2, 0, -1),
    "conll2003": (4, 0, -1),
    "conll": (None, 0, -1),
}


@dataclass
class Sentence:
    """One tagged sentence; ``lines[i]`` is the 1-based source line of token ``i``."""

    tokens: list[str]
    tags: list[str]
    lines: list[int] = field(default_factory=list)
    source: str = ""
    ncols: int = 0  # columns per token line (1 = tokens only, no tag column)


def read_conll(path: str | Path, fmt: str = "conll2002", token_col: int | None = None,
               tag_col: int | None = None, encoding: str = "utf-8") -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL column file.

    ``-DOCSTART-`` lines are document markers, not tokens. The separator is a tab
    when the line has one (tokens may then contain spaces), else any whitespace.
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
    expected = ncols
    for lineno, raw in iter_lines(path, encoding):
        line = raw.rstrip()
        if not line.strip():
            if tokens:
                yield Sentence(tokens, tags, lines, str(path), expected or 0)
                tokens, tags, lines = [], [], []
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if cols[0] == "-DOCSTART-":
            if tokens:
                yield Sentence(tokens, tags, lines, str(path), expected or 0)
                tokens, tags, lines = [], [], []
            continue
        if expected is None:
            expected = len(cols)
        if len(cols) != expected:
            raise InputError(f"expected {expected} columns ({fmt}), found {len(cols)}: {line[:60]!r}",
                             path=path, line=lineno)
        try:
            tokens.append(cols[tcol])
            tags.append(cols[gcol])
        except IndexError:
            raise InputError(f"no column {tcol if abs(tcol) >= len(cols) else gcol} in a line of "
                             f"{len(cols)} columns", path=path, line=lineno) from None
        lines.append(lineno)
    if tokens:
        yield Sentence(tokens, tags, lines, str(path), expected or 0)


def write_conll(sentences: Iterable[tuple[list[str], list[str]] | Sentence], out: IO[str],
                sep: str = " ") -> int:
    """Write ``token<sep>tag`` lines with a blank line after each sentence; returns the count."""
    n = 0
    for s in sentences:
        toks, tags = (s.tokens, s.tags) if isinstance(s, Sentence) else s
        for tok, tag in zip(toks, tags):
            out.write(f"{tok}{sep}{tag}\n")
        out.write("\n")
        n += 1
    return n
