"""Splitting one prediction input into N parts and joining their outputs (pure file logic).

Shard ``I`` of ``N`` of a file is the byte range ``[b(I·S/N), b((I+1)·S/N))`` (S = the
file's size), where ``b(x)`` moves ``x`` forward to the next record boundary: the start
of a line for raw text and JSONL, the end of a blank line for CoNLL and CoNLL-U (a
sentence is never cut). The ranges are contiguous and cover the file, so every record
lands in exactly one shard, each shard reads only its own bytes (no counting pass over
the whole input), and the outputs, joined in shard order, are the single-process output
(:func:`merge_outputs`). Used by ``mltl predict --shard I/N`` (Slurm arrays, GNU
parallel), ``mltl merge``, and ``torchrun … -m mltl predict`` (one shard per rank).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import IO, Any, Sequence

from mltl.errors import InputError
from mltl.files import STDIO, ByteSpan

BLOCK_FORMATS = ("conll", "conllu")  # records are blank-line separated sentences
MANIFEST_SUFFIX = ".shard.json"
MANIFEST_KIND = "mltl-predict-shard"
_SPEC = re.compile(r"(\d+)/(\d+)")


def parse_shard(spec: str) -> tuple[int, int]:
    """``"I/N"`` → ``(I, N)``, 0 ≤ I < N (0-based, as ``$SLURM_ARRAY_TASK_ID``)."""
    m = _SPEC.fullmatch(spec.strip())
    if not m:
        raise InputError(f"--shard {spec!r}: expected I/N, e.g. 0/4 (shards are numbered from 0)")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or i >= n:
        raise InputError(f"--shard {spec}: I must be in 0..N-1 (shards are numbered from 0)")
    return i, n


def check_shardable(path: str) -> Path:
    """A shard is a byte range: stdin and compressed files cannot be split that way."""
    if path == STDIO:
        raise InputError("stdin cannot be split into shards: give a file")
    p = Path(path)
    if p.suffix == ".gz":
        raise InputError("a .gz file cannot be split into shards by byte range: decompress it first", path=p)
    return p


def _boundary(f: IO[bytes], x: int, size: int, blocks: bool) -> int:
    """The first record start at or after byte ``x`` (``size`` if none)."""
    if x <= 0:
        return 0
    if x >= size:
        return size
    f.seek(x - 1)
    f.readline()  # to the end of the line holding byte x-1: the next line starts at >= x
    if not blocks:
        return min(f.tell(), size)
    while True:  # a CoNLL record starts after a blank line
        line = f.readline()
        if not line:
            return size
        if not line.strip():
            return f.tell()


def _count_lines(f: IO[bytes], end: int) -> int:
    f.seek(0)
    n, left = 0, end
    while left > 0:
        chunk = f.read(min(left, 1 << 22))
        if not chunk:
            break
        n += chunk.count(b"\n")
        left -= len(chunk)
    return n


def shard_span(path: str | Path, index: int, count: int, fmt: str) -> ByteSpan:
    """The byte range of shard ``index`` of ``count`` of ``path`` read as ``fmt``."""
    p = Path(path)
    size = p.stat().st_size
    blocks = fmt in BLOCK_FORMATS
    with open(p, "rb") as f:
        start = _boundary(f, size * index // count, size, blocks)
        end = _boundary(f, size * (index + 1) // count, size, blocks)
        first = 1 + (_count_lines(f, start) if start else 0)  # so errors name the file's own line
    return ByteSpan(start, max(start, end), first)


# ----------------------------------------------------------------------------- joining
def _labelstudio_body(text: str, name: str) -> str:
    """The tasks of one Label Studio part (``[`` + tasks + ``\\n]\\n``) without the brackets."""
    if not (text.startswith("[") and text.endswith("\n]\n")):
        raise InputError("not a Label Studio task list written by mltl predict", path=name)
    return text[1:-3]


def merge_outputs(parts: Sequence[Path], out: IO[Any], fmt: str) -> None:
    """Write the outputs of ``parts`` (in order) to ``out`` as one output of format ``fmt``.

    Line formats (conll, jsonl, doccano) are concatenated; Label Studio lists are joined
    into one list; spaCy DocBins (``out`` binary) are merged."""
    if fmt == "spacy":
        from spacy.tokens import DocBin

        merged = DocBin(store_user_data=True)
        for p in parts:
            merged.merge(DocBin().from_disk(p))
        out.write(merged.to_bytes())
        return
    if fmt == "labelstudio":
        bodies = [_labelstudio_body(p.read_text(encoding="utf-8"), str(p)) for p in parts]
        out.write("[" + ",".join(b for b in bodies if b) + "\n]\n")
        return
    for p in parts:
        with open(p, encoding="utf-8", newline="") as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)


# ----------------------------------------------------------------------------- --shard I/N
def manifest_path(part: str | Path) -> Path:
    p = Path(part)
    return p.with_name(p.name + MANIFEST_SUFFIX)


def manifest(index: int, count: int, input_path: Path, span: ByteSpan, fmt: str, model: str, items: int) -> dict:
    return {
        "kind": MANIFEST_KIND,
        "shard": index,
        "of": count,
        "input": str(input_path.resolve()),
        "input_bytes": input_path.stat().st_size,
        "bytes": [span.start, span.end],
        "format": fmt,
        "model": model,
        "items": items,
    }


def read_manifest(part: Path) -> dict:
    mp = manifest_path(part)
    if not part.is_file():
        raise InputError("no such file", path=part)
    if not mp.is_file():
        raise InputError(
            f"not a shard of `mltl predict --shard I/N`: its manifest {mp.name} is missing beside it", path=part
        )
    try:
        m = json.loads(mp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"corrupt shard manifest ({exc})", path=mp) from None
    if not isinstance(m, dict) or m.get("kind") != MANIFEST_KIND:
        raise InputError("not a shard manifest of mltl predict", path=mp)
    return m


def order_shards(parts: Sequence[str | Path]) -> tuple[list[Path], dict]:
    """The parts in shard order, checked to be all shards of one prediction; (parts, summary)."""
    if not parts:
        raise InputError("no shard files given")
    found = [(Path(p), read_manifest(Path(p))) for p in parts]
    first_path, first = found[0]
    for p, m in found[1:]:
        for key in ("of", "input", "input_bytes", "format", "model"):
            if m.get(key) != first.get(key):
                raise InputError(
                    f"is not a shard of the same prediction as {first_path} ({key}: {m.get(key)!r} vs "
                    f"{first.get(key)!r})",
                    path=p,
                )
    n = int(first["of"])
    by_index: dict[int, Path] = {}
    for p, m in found:
        i = int(m["shard"])
        if i in by_index:
            raise InputError(f"shard {i} of {n} is given twice ({by_index[i]} and {p})")
        by_index[i] = p
    missing = [i for i in range(n) if i not in by_index]
    if missing:
        raise InputError(
            f"shard(s) {', '.join(map(str, missing))} of {n} missing (have {', '.join(map(str, sorted(by_index)))})"
        )
    spans = [found_m["bytes"] for _, found_m in sorted(((int(m["shard"]), m) for _, m in found), key=lambda t: t[0])]
    if spans[0][0] != 0 or spans[-1][1] != first["input_bytes"] or any(a[1] != b[0] for a, b in zip(spans, spans[1:])):
        raise InputError("the shards' byte ranges do not cover the input exactly once; predict them again")
    summary = {
        "count": n,
        "input": first["input"],
        "format": first["format"],
        "items": sum(int(m["items"]) for _, m in found),
    }
    return [by_index[i] for i in range(n)], summary
