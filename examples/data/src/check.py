#!/usr/bin/env python3
"""Validate the mltl example data (stdlib only).  python examples/data/src/check.py

Exit status 1 on any error; prints per-file counts and simple NER statistics.
"""
import re
import sys
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent
TAG = re.compile(r"^(O|[BI]-(PER|LOC|ORG|MISC))$")
NER = {"en", "de", "es", "nl", "zh"}
CLS = {"en", "fr", "de", "es"}
UNL = {"en", "de", "es", "nl", "zh", "fr"}
MIN_NER = {"train": 150, "dev": 30, "test": 30}
LABELS = {"sports", "business", "science"}
errors = []


def err(msg):
    errors.append(msg)
    print("ERROR", msg)


def read(path):
    raw = path.read_bytes()
    if b"\r" in raw:
        err(f"{path}: CR characters (want LF)")
    if raw and not raw.endswith(b"\n"):
        err(f"{path}: no final newline")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        err(f"{path}: not UTF-8 ({e})")
        return ""


def check_conll(path):
    text = read(path)
    sents, cur = [], []
    lines = text.split("\n")[:-1]
    for no, line in enumerate(lines, 1):
        if not line:
            if cur:
                sents.append(cur)
            else:
                err(f"{path}:{no}: double blank line")
            cur = []
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not parts[0]:
            err(f"{path}:{no}: want 'token tag', got {line!r}")
            continue
        tok, tag = parts
        if not TAG.match(tag):
            err(f"{path}:{no}: bad tag {tag!r}")
        if tag.startswith("I-"):
            prev = cur[-1][1] if cur else "O"
            if prev == "O" or prev[2:] != tag[2:]:
                err(f"{path}:{no}: {tag} after {prev}")
        cur.append((tok, tag))
    if cur:
        err(f"{path}: last sentence not followed by a blank line")
        sents.append(cur)
    return sents


def main():
    stats = {}
    for lang in sorted(NER):
        for split, need in MIN_NER.items():
            p = DATA / "ner" / lang / f"{split}.txt"
            sents = check_conll(p)
            if len(sents) < need:
                err(f"{p}: {len(sents)} sentences < {need}")
            ents = Counter(t[2:] for s in sents for _, t in s if t.startswith("B-"))
            none = sum(all(t == "O" for _, t in s) for s in sents)
            lens = [len(s) for s in sents]
            for i, n in enumerate(lens):
                if not 6 <= n <= 25:
                    err(f"{p}: sentence {i + 1} has {n} tokens")
            print(f"ner/{lang}/{split}.txt: {len(sents)} sentences, {sum(lens)} tokens, "
                  f"entities {dict(sorted(ents.items()))}, no-entity {none / max(len(sents), 1):.0%}")
    for lang in sorted(CLS):
        p = DATA / "cls" / f"{lang}.tsv"
        rows = [l for l in read(p).split("\n") if l]
        labels = Counter()
        for no, row in enumerate(rows, 1):
            if row.count("\t") != 1:
                err(f"{p}:{no}: want exactly one tab")
                continue
            label, text = row.split("\t")
            if label not in LABELS:
                err(f"{p}:{no}: bad label {label!r}")
            if not 8 <= len(text.split()) <= 40:
                err(f"{p}:{no}: {len(text.split())} words")
            labels[label] += 1
        if len(rows) < 180 or len(set(labels.values())) != 1:
            err(f"{p}: {len(rows)} rows, labels {dict(labels)}")
        if len(set(rows)) != len(rows):
            err(f"{p}: duplicate rows")
        print(f"cls/{lang}.tsv: {len(rows)} rows {dict(sorted(labels.items()))}")
    for lang in sorted(UNL):
        p = DATA / "unlabeled" / f"{lang}.txt"
        lines = read(p).split("\n")[:-1]
        if any(not l.strip() for l in lines):
            err(f"{p}: blank lines")
        if any("\t" in l for l in lines):
            err(f"{p}: tabs")
        if lang == "zh" and any(" " in l for l in lines):
            err(f"{p}: spaces in Chinese text")
        if len(lines) < 300:
            err(f"{p}: {len(lines)} lines < 300")
        if len(set(lines)) != len(lines):
            err(f"{p}: duplicate lines")
        print(f"unlabeled/{lang}.txt: {len(lines)} lines")
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
