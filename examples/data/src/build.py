#!/usr/bin/env python3
"""Build the mltl example data from the compact sources in this folder.

Stdlib only. Run from anywhere:  python examples/data/src/build.py

NER sources  (ner_<lang>.txt): one sentence per line, tokens separated by single
spaces, entities written inline as ``[TYPE tok tok]`` with TYPE in
PER/LOC/ORG/MISC.  Lines starting with ``#`` and blank lines are ignored.
Split (deterministic, interleaved so that every split covers every topic, and
stratified by whether a sentence has entities): within each of the two groups,
the i-th sentence (0-based) goes to dev if i % 7 == 5, to test if i % 7 == 6,
else train.
Output: ../ner/<lang>/{train,dev,test}.txt in CoNLL-2002 format (``token tag``,
IOB2 tags, blank line after every sentence).

Classification sources (cls_<lang>.txt): a ``== label ==`` line starts a section,
every following line is one text of that label; classes must be balanced.
Output ../cls/<lang>.tsv (``label<TAB>text``, shuffled with a fixed seed, no header).
"""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent
DATA = SRC.parent
TYPES = ("PER", "LOC", "ORG", "MISC")
LABELS = ("sports", "business", "science")
NER_LANGS = ("en", "de", "es", "nl", "zh")
CLS_LANGS = ("en", "fr", "de", "es")
SEED = 20240611


def source_lines(path: Path):
    for no, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield no, line


def parse_inline(line: str, where: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    cur: str | None = None
    first = False
    for tok in line.split(" "):
        if not tok:
            raise ValueError(f"{where}: double space")
        if tok.startswith("[") and len(tok) > 1:
            if cur is not None:
                raise ValueError(f"{where}: nested entity at {tok!r}")
            cur = tok[1:]
            if cur not in TYPES:
                raise ValueError(f"{where}: unknown type {cur!r}")
            first = True
            continue
        close = tok.endswith("]") and len(tok) > 1 and cur is not None
        word = tok[:-1] if close else tok
        if "[" in word or "]" in word:
            raise ValueError(f"{where}: stray bracket in {tok!r}")
        if cur is None:
            out.append((word, "O"))
        else:
            out.append((word, ("B-" if first else "I-") + cur))
            first = False
        if close:
            cur = None
    if cur is not None:
        raise ValueError(f"{where}: unclosed entity")
    if first:
        raise ValueError(f"{where}: empty entity")
    return out


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def build_ner(lang: str) -> dict[str, int]:
    sents = []
    for no, line in source_lines(SRC / f"ner_{lang}.txt"):
        toks = parse_inline(line, f"ner_{lang}.txt:{no}")
        if not 6 <= len(toks) <= 25:
            raise ValueError(f"ner_{lang}.txt:{no}: {len(toks)} tokens (want 6-25)")
        sents.append(toks)
    splits: dict[str, list] = {"train": [], "dev": [], "test": []}
    seen = {True: 0, False: 0}  # stratify: sentences with / without entities
    for s in sents:
        key = any(t != "O" for _, t in s)
        i = seen[key]
        seen[key] += 1
        splits["dev" if i % 7 == 5 else "test" if i % 7 == 6 else "train"].append(s)
    for name, ss in splits.items():
        body = "".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in ss)
        write(DATA / "ner" / lang / f"{name}.txt", body)
    return {k: len(v) for k, v in splits.items()}


def build_cls(lang: str) -> int:
    rows = []
    label = None
    for no, line in source_lines(SRC / f"cls_{lang}.txt"):
        m = re.fullmatch(r"== (\w+) ==", line)
        if m:
            label = m.group(1)
            if label not in LABELS:
                raise ValueError(f"cls_{lang}.txt:{no}: unknown label {label!r}")
            continue
        if label is None or "\t" in line:
            raise ValueError(f"cls_{lang}.txt:{no}: text before any label or with a tab")
        n = len(line.split())
        if not 8 <= n <= 40:
            raise ValueError(f"cls_{lang}.txt:{no}: {n} words (want 8-40)")
        rows.append((label, re.sub(r"\s+", " ", line)))
    counts = {l: sum(r[0] == l for r in rows) for l in LABELS}
    if len(set(counts.values())) != 1:
        raise ValueError(f"cls_{lang}.txt: unbalanced classes {counts}")
    random.Random(f"{SEED}-{lang}").shuffle(rows)
    write(DATA / "cls" / f"{lang}.tsv", "".join(f"{l}\t{t}\n" for l, t in rows))
    return len(rows)


def main(argv: list[str]) -> int:
    langs = set(argv) or None
    for lang in NER_LANGS:
        if (langs is None or lang in langs) and (SRC / f"ner_{lang}.txt").exists():
            print("ner", lang, build_ner(lang))
    for lang in CLS_LANGS:
        if (langs is None or lang in langs) and (SRC / f"cls_{lang}.txt").exists():
            print("cls", lang, build_cls(lang))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
