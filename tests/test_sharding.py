"""Sharding a prediction input by byte range, and joining the parts (`predict --shard`, `mltl merge`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mltl.errors import InputError
from mltl.files import iter_lines
from mltl.sharding import (
    manifest,
    manifest_path,
    merge_outputs,
    order_shards,
    parse_shard,
    shard_span,
)

TEXT = "Ein Satz.\r\nZwei Sätze 😀.\n\nnach leerer Zeile\n東京 は 大きい\nletzte ohne Ende"
CONLL = "-DOCSTART- O\n\nEU B-ORG\nrejects O\n\n\nGerman B-MISC\ncall O\n\r\nPeter B-PER\nBlackburn I-PER\n\nÖl O\n"
CONLLU = "# sent_id = 1\n1\tUn\tun\tDET\t_\t_\t0\t_\t_\t_\n\n# sent_id = 2\n1\tÜber\tüber\tADP\t_\t_\t0\t_\t_\t_\n"


@pytest.mark.parametrize("fmt,text", [("text", TEXT), ("jsonl", TEXT), ("conll", CONLL), ("conllu", CONLLU)])
def test_shards_cover_the_file_once_on_record_boundaries(tmp_path: Path, fmt: str, text: str) -> None:
    p = tmp_path / "in.txt"
    p.write_bytes(text.encode("utf-8"))
    whole = list(iter_lines(p))
    size = p.stat().st_size
    for n in (1, 2, 3, 5, 8, 40):
        spans = [shard_span(p, i, n, fmt) for i in range(n)]
        assert spans[0].start == 0 and spans[-1].end == size
        assert all(a.end == b.start for a, b in zip(spans, spans[1:]))
        joined = [ln for s in spans for ln in iter_lines(p, span=s)]
        assert joined == whole, n  # the same lines with the file's own line numbers
        raw = p.read_bytes()
        for s in spans:
            if 0 < s.start < size:
                if fmt in ("conll", "conllu"):  # a sentence is never cut: a shard starts after a blank line
                    assert raw[: s.start - 1].rsplit(b"\n", 1)[-1].strip() == b""
                else:
                    assert raw[s.start - 1 : s.start] == b"\n"


def test_parse_shard() -> None:
    assert parse_shard("0/4") == (0, 4) and parse_shard(" 3/4 ") == (3, 4)
    for bad in ("4/4", "1/0", "-1/2", "a/b", "2", "1/2/3"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


def _part(tmp_path: Path, name: str, body: str, index: int, count: int, src: Path, start: int, end: int, fmt="jsonl"):
    from mltl.files import ByteSpan

    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    m = manifest(index, count, src, ByteSpan(start, end), fmt, "m (mltl)", body.count("\n"))
    manifest_path(p).write_text(json.dumps(m), encoding="utf-8")
    return p


def test_order_shards_refuses_missing_repeated_or_foreign_parts(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("a\nb\nc\n")
    p0 = _part(tmp_path, "p0", "A\n", 0, 3, src, 0, 2)
    p1 = _part(tmp_path, "p1", "B\n", 1, 3, src, 2, 4)
    p2 = _part(tmp_path, "p2", "C\n", 2, 3, src, 4, 6)
    ordered, summary = order_shards([p2, p0, p1])
    assert ordered == [p0, p1, p2] and summary["items"] == 3 and summary["count"] == 3
    with pytest.raises(InputError, match=r"shard\(s\) 1 of 3 missing"):
        order_shards([p0, p2])
    with pytest.raises(InputError, match="given twice"):
        order_shards([p0, p0, p1, p2])
    other = tmp_path / "other.txt"
    other.write_text("x\ny\nz\n")
    q1 = _part(tmp_path, "q1", "B\n", 1, 3, other, 2, 4)
    with pytest.raises(InputError, match="not a shard of the same prediction"):
        order_shards([p0, q1, p2])
    lone = tmp_path / "lone.jsonl"
    lone.write_text("{}\n")
    with pytest.raises(InputError, match="manifest lone.jsonl.shard.json is missing"):
        order_shards([lone])


def test_merge_joins_label_studio_lists_into_one(tmp_path: Path) -> None:
    import io

    parts = []
    for i, tasks in enumerate([[{"a": 1}, {"a": 2}], [], [{"a": 3}]]):
        body = "".join(("\n" if j == 0 else ",\n") + json.dumps(t) for j, t in enumerate(tasks))
        p = tmp_path / f"p{i}"
        p.write_text("[" + body + "\n]\n", encoding="utf-8")  # as predict_stream writes it
        parts.append(p)
    out = io.StringIO()
    merge_outputs(parts, out, "labelstudio")
    assert json.loads(out.getvalue()) == [{"a": 1}, {"a": 2}, {"a": 3}]
    out = io.StringIO()
    merge_outputs(parts[1:2], out, "labelstudio")
    assert json.loads(out.getvalue()) == []
