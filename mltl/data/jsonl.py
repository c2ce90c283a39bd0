"""JSON Lines: the canonical dataset format of mltl (one JSON object per line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Iterable, Iterator

from mltl.errors import InputError
from mltl.files import ByteSpan, iter_lines


def read_jsonl(path: str | Path, encoding: str = "utf-8", span: ByteSpan | None = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)``; blank lines are skipped, bad JSON names file:line."""
    for lineno, line in iter_lines(path, encoding, span):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=lineno) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=path, line=lineno)
        yield lineno, obj


def write_jsonl(records: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for r in records:
        out.write(json.dumps(r, ensure_ascii=False))
        out.write("\n")
        n += 1
    return n
