"""Bilingual dictionaries: MUSE-format files and the identical-strings seed.

A MUSE dictionary has one ``source target`` pair per line (space or tab
separated); a source word may appear on several lines with different targets.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mltl.errors import InputError
from mltl.files import check_nonempty, iter_lines

_NUMERAL = re.compile(r"^[0-9]+([.,:/-][0-9]+)*$")


def read_dictionary(path: str | Path) -> list[tuple[str, str]]:
    """Pairs of a MUSE-format dictionary, in file order, duplicates dropped."""
    check_nonempty(path)
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for lineno, line in iter_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise InputError(f"expected 'source target' (2 fields), got {len(parts)}", path=path, line=lineno)
        pair = (parts[0], parts[1])
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    if not pairs:
        raise InputError("dictionary has no pairs", path=path)
    return pairs


def find_dictionary(spec: str | Path, src: str, tgt: str, prefer: str = "train") -> Path:
    """A dictionary file from ``spec``: the file itself, or in a directory ``src-tgt*.txt``.

    Directory look-up accepts MUSE names (``de-en.txt``, ``de-en.0-5000.txt``,
    ``de-en.5000-6500.txt``, ``de-en.train.txt``, ``de-en.test.txt``) and prefers
    the training or the test split according to ``prefer``.
    """
    p = Path(spec)
    if not p.exists():
        raise InputError("no such dictionary file or directory", path=p)
    if p.is_file():
        return p
    cands = sorted(p.glob(f"{src}-{tgt}*.txt"))
    if not cands:
        raise InputError(f"no {src}-{tgt}*.txt dictionary in the directory", path=p)
    marks = ("train", "0-5000") if prefer == "train" else ("test", "5000-6500")
    other = ("test", "5000-6500") if prefer == "train" else ("train", "0-5000")
    best = [c for c in cands if any(m in c.name for m in marks)]
    neutral = [c for c in cands if not any(m in c.name for m in other)]
    if not (best or neutral):
        raise InputError(
            f"no {prefer} dictionary for {src}-{tgt} in the directory (found {', '.join(c.name for c in cands)})",
            path=p,
        )
    return (best or neutral)[0]


def to_indices(
    pairs: list[tuple[str, str]],
    src_index: dict[str, int],
    tgt_index: dict[str, int],
    path: str | Path | None = None,
    *,
    what: str = "dictionary",
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the pairs whose both words are in the vocabularies.

    A dictionary with no usable pair is an :class:`InputError` that says how many
    pairs were checked, so a wrong language pair or lowercase mismatch is obvious.
    """
    src_idx, tgt_idx = [], []
    for s, t in pairs:
        i, j = src_index.get(s), tgt_index.get(t)
        if i is not None and j is not None:
            src_idx.append(i)
            tgt_idx.append(j)
    if not src_idx:
        example = f" (e.g. {pairs[0][0]!r} -> {pairs[0][1]!r})" if pairs else ""
        raise InputError(
            f"{what}: 0 of {len(pairs)} pairs have both words in the vocabularies{example}; "
            f"wrong language pair, case, or --max-vocab too small?",
            path=path,
        )
    return np.asarray(src_idx, dtype=np.int64), np.asarray(tgt_idx, dtype=np.int64)


def identical_seed(
    src_words: list[str], tgt_words: list[str], numerals_only: bool = False, max_rank: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seed dictionary of words spelled the same in both vocabularies (or numerals only).

    Identical strings (names, numbers, code words) are a free, mostly correct
    dictionary between languages sharing a script (Artetxe et al., 2017; Smith
    et al., 2017). ``max_rank`` limits both sides to their most frequent words.
    """
    src = src_words[:max_rank] if max_rank else src_words
    tgt = tgt_words[:max_rank] if max_rank else tgt_words
    tindex = {w: j for j, w in enumerate(tgt)}
    si, ti = [], []
    for i, w in enumerate(src):
        j = tindex.get(w)
        if j is not None and (not numerals_only or _NUMERAL.match(w)):
            si.append(i)
            ti.append(j)
    return np.asarray(si, dtype=np.int64), np.asarray(ti, dtype=np.int64)
