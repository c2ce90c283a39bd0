"""Debian freedict dictionaries (dictd ``.index`` + ``.dict.dz``) -> MUSE train/test splits.

Install one with ``apt-get install dict-freedict-eng-deu``; the files land in
``/usr/share/dictd/freedict-eng-deu.{index,dict.dz}``. Entries look like::

    dog /dˈɒɡ/
    Hund <masc> [zool.]
          "train a dog"  - einen Hund abrichten
     see: {dogs}

The first line holds the headword (with its original case, unlike the
lower-cased index key), the following unindented line(s) the translations,
comma separated, with grammar tags ``<...>`` and labels ``[...]``; indented
lines are examples and notes. BLI dictionaries are word-to-word, so only
single-token headwords and translations are kept.

Splits are by **source word**: every pair of a source word goes to the same
split, so no test query was seen in training (MUSE's convention).

Usage::

    python -m mltl.embeddings.freedict /usr/share/dictd/freedict-deu-eng.index -o dicts/
    # -> dicts/de-en.train.txt, dicts/de-en.test.txt
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
from pathlib import Path
from typing import Iterator

from mltl.errors import InputError, MltlError
from mltl.files import atomic_file

# Freedict uses ISO 639-3; mltl (and spaCy, MUSE) use ISO 639-1 where one exists.
ISO3_TO_1 = {
    "eng": "en",
    "deu": "de",
    "spa": "es",
    "fra": "fr",
    "nld": "nl",
    "ita": "it",
    "por": "pt",
    "rus": "ru",
    "pol": "pl",
    "swe": "sv",
    "ces": "cs",
    "dan": "da",
    "fin": "fi",
    "hun": "hu",
    "jpn": "ja",
    "tur": "tr",
    "ell": "el",
    "bul": "bg",
    "hrv": "hr",
    "srp": "sr",
    "slk": "sk",
    "slv": "sl",
    "nor": "no",
    "nob": "nb",
    "lit": "lt",
    "lav": "lv",
    "est": "et",
    "gle": "ga",
    "cym": "cy",
    "eus": "eu",
    "cat": "ca",
    "glg": "gl",
    "ron": "ro",
    "ukr": "uk",
    "ara": "ar",
    "hin": "hi",
    "zho": "zh",
    "kor": "ko",
    "lat": "la",
    "afr": "af",
    "isl": "is",
    "swh": "sw",
}

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_WORD = re.compile(r"^[^\W\d_](?:[\w'’-]*\w)?$")  # one token: letters first, no spaces/punctuation runs
_TAGS = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}")


def _b64(s: str, path: Path, line: int) -> int:
    v = 0
    for c in s:
        if c not in _B64:
            raise InputError(f"bad dictd offset {s!r} (expected base64 digits)", path=path, line=line)
        v = v * 64 + _B64[c]
    return v


def dictd_paths(spec: str | Path) -> tuple[Path, Path]:
    """``(index, dict.dz)`` from either file or their common prefix."""
    p = Path(spec)
    name = p.name
    for suffix in (".index", ".dict.dz", ".dict"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    base = p.with_name(name)
    index = base.with_name(name + ".index")
    data = base.with_name(name + ".dict.dz")
    if not data.exists() and base.with_name(name + ".dict").exists():
        data = base.with_name(name + ".dict")
    for f in (index, data):
        if not f.exists():
            raise InputError(
                "missing dictd file (need NAME.index and NAME.dict.dz; apt-get install dict-freedict-<src>-<tgt>)",
                path=f,
            )
    return index, data


def langs_of(spec: str | Path) -> tuple[str, str]:
    """``('de', 'en')`` from ``freedict-deu-eng``; 3-letter codes kept when unmapped."""
    m = re.search(r"([a-z]{3})-([a-z]{3})(?:\.index|\.dict(?:\.dz)?)?$", Path(spec).name)
    if not m:
        raise InputError("cannot tell the languages from the name (expected freedict-SRC-TGT)", path=spec)
    return ISO3_TO_1.get(m.group(1), m.group(1)), ISO3_TO_1.get(m.group(2), m.group(2))


def _headword(first_line: str) -> str:
    # "run /ɹˈʌn/ (ran ...) <v>" -> "run": cut at pronunciation, grammar or note.
    return re.split(r"\s+[/<(\[]", first_line.strip(), maxsplit=1)[0].strip()


def _translations(lines: list[str]) -> Iterator[str]:
    for line in lines:
        if not line.strip() or line[:1].isspace():
            continue  # indented: examples, notes, synonyms, cross-references
        text = _TAGS.sub(" ", line)
        for part in re.split(r"[,;]", text):
            word = part.strip()
            if word:
                yield word


def read_freedict(spec: str | Path, lowercase: bool = False) -> list[tuple[str, str]]:
    """Single-word ``(source, target)`` pairs of a dictd dictionary, in index order, unique."""
    index, data = dictd_paths(spec)
    try:
        raw = gzip.open(data, "rb").read() if data.suffix == ".dz" else data.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read dictionary data ({exc})", path=data) from None
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    with open(index, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise InputError(
                    f"expected 'headword<TAB>offset<TAB>length', got {len(parts)} fields", path=index, line=lineno
                )
            key, off, length = parts
            if key.startswith("00-database") or key.startswith("00database"):
                continue  # dictd metadata entries
            start = _b64(off, index, lineno)
            entry = raw[start : start + _b64(length, index, lineno)].decode("utf-8", errors="replace")
            lines = entry.split("\n")
            src = _headword(lines[0]) if lines else ""
            if not _WORD.match(src):
                continue
            for tgt in _translations(lines[1:]):
                if not _WORD.match(tgt):
                    continue
                pair = (src.lower(), tgt.lower()) if lowercase else (src, tgt)
                if pair not in seen:
                    seen.add(pair)
                    pairs.append(pair)
    if not pairs:
        raise InputError("no single-word pairs found", path=index)
    return pairs


def split_by_source(
    pairs: list[tuple[str, str]], n_test: int = 1500, n_train: int | None = 5000, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Train/test pairs with disjoint source words: ``n_test`` random source words for test,
    up to ``n_train`` of the others for training."""
    sources = sorted({s for s, _ in pairs})
    random.Random(seed).shuffle(sources)
    if len(sources) < 2:
        raise InputError(f"only {len(sources)} source word(s): too few to split")
    n_test = min(n_test, len(sources) // 2)
    test_src = set(sources[:n_test])
    rest = sources[n_test:]
    train_src = set(rest if n_train is None else rest[:n_train])
    test = [p for p in pairs if p[0] in test_src]
    train = [p for p in pairs if p[0] in train_src]
    return train, test


def convert(
    spec: str | Path,
    out_dir: str | Path,
    *,
    n_test: int = 1500,
    n_train: int | None = 5000,
    seed: int = 0,
    lowercase: bool = False,
    invert: bool = False,
    src_vocab: set[str] | None = None,
    tgt_vocab: set[str] | None = None,
) -> dict:
    """Write ``SRC-TGT.train.txt`` and ``SRC-TGT.test.txt`` (MUSE format) into ``out_dir``.

    ``invert`` swaps the direction (eng-deu -> de-en). ``src_vocab``/``tgt_vocab``
    keep only pairs whose words have vectors, so splits are not wasted on words
    no embedding covers.
    """
    src, tgt = langs_of(spec)
    pairs = read_freedict(spec, lowercase=lowercase)
    if invert:
        src, tgt = tgt, src
        pairs = [(t, s) for s, t in pairs]
    total = len(pairs)
    if src_vocab is not None or tgt_vocab is not None:
        pairs = [
            (s, t) for s, t in pairs if (src_vocab is None or s in src_vocab) and (tgt_vocab is None or t in tgt_vocab)
        ]
        if not pairs:
            raise InputError(f"0 of {total} pairs have both words in the given vocabularies", path=spec)
    train, test = split_by_source(pairs, n_test=n_test, n_train=n_train, seed=seed)
    out = Path(out_dir)
    paths = {}
    for name, items in (("train", train), ("test", test)):
        path = out / f"{src}-{tgt}.{name}.txt"
        with atomic_file(path) as f:
            f.write("".join(f"{s} {t}\n" for s, t in items))
        paths[name] = str(path)
    return {
        "src": src,
        "tgt": tgt,
        "pairs": total,
        "kept": len(pairs),
        "train_pairs": len(train),
        "test_pairs": len(test),
        "train_sources": len({s for s, _ in train}),
        "test_sources": len({s for s, _ in test}),
        **paths,
    }


def _vocab(path: str | None, max_vocab: int | None) -> set[str] | None:
    if path is None:
        return None
    from mltl.embeddings.vectors import load_vectors

    return set(load_vectors(path, max_vocab=max_vocab).words)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mltl.embeddings.freedict",
        description="Convert a Debian freedict dictionary into MUSE train/test splits with disjoint source words.",
    )
    ap.add_argument("dictionary", help="freedict-SRC-TGT.index (or .dict.dz, or the common prefix)")
    ap.add_argument("-o", "--output", required=True, help="output directory")
    ap.add_argument("--test", type=int, default=1500, help="test source words (default 1500)")
    ap.add_argument("--train", type=int, default=5000, help="max training source words (default 5000; 0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lowercase", action="store_true", help="lowercase both sides")
    ap.add_argument("--invert", action="store_true", help="swap direction (eng-deu -> de-en)")
    ap.add_argument("--src-vectors", help="keep pairs whose source word is in these vectors")
    ap.add_argument("--tgt-vectors", help="keep pairs whose target word is in these vectors")
    ap.add_argument("--max-vocab", type=int, default=200000, help="vocabulary cut for --*-vectors")
    args = ap.parse_args(argv)
    from mltl import log

    try:
        src_v = _vocab(args.src_vectors, args.max_vocab)
        tgt_v = _vocab(args.tgt_vectors, args.max_vocab)
        res = convert(
            args.dictionary,
            args.output,
            n_test=args.test,
            n_train=args.train or None,
            seed=args.seed,
            lowercase=args.lowercase,
            invert=args.invert,
            src_vocab=src_v,
            tgt_vocab=tgt_v,
        )
    except MltlError as exc:
        log.error(str(exc))
        return exc.exit_code
    print(
        f"{res['src']}-{res['tgt']}: {res['kept']} of {res['pairs']} pairs kept; train {res['train_pairs']} "
        f"pairs / {res['train_sources']} source words -> {res['train']}; test {res['test_pairs']} pairs / "
        f"{res['test_sources']} source words -> {res['test']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
