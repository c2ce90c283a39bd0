"""S4: `mltl prepare --unlabeled` tokens/s against plain `spacy.blank(lang).pipe` (the floor).

Builds raw prose from the installed Debian man pages of LANG (apt-get install manpages-LANG),
then times both on the same text, side by side, median of --repeat runs.

    python bench/bench_prepare.py --lang de --repeat 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def build_text(lang: str, out: Path, max_mb: float) -> int:
    from mltl.text.roff import roff_to_paragraphs

    root = Path("/usr/share/man") / ("" if lang == "en" else lang)
    pages = sorted(p for p in root.glob("man[1-8]/*.gz"))
    if not pages:
        sys.exit(f"no man pages for {lang!r} under {root}: apt-get install manpages-{lang}")
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for page in pages:
            try:
                lines = gzip.open(page, "rt", encoding="utf-8").read().splitlines()
            except (UnicodeDecodeError, OSError):
                continue
            for para in roff_to_paragraphs(lines):
                f.write(para + "\n")
                n += 1
            if f.tell() > max_mb * 1e6:
                break
    return n


def floor(lang: str, path: Path) -> tuple[float, int]:
    import spacy

    nlp = spacy.blank(lang)
    t = time.perf_counter()
    n = 0
    with open(path, encoding="utf-8") as f:
        for doc in nlp.pipe((ln.rstrip("\n") for ln in f), batch_size=1000):
            n += len(doc)
    return time.perf_counter() - t, n


def ours(lang: str, path: Path, tmp: Path) -> tuple[float, int]:
    from mltl.data.prepare import prepare

    out = tmp / "out"
    t = time.perf_counter()
    meta = prepare([str(path)], out, task="unlabeled", lang=lang, force=True)
    return time.perf_counter() - t, meta["splits"]["unlabeled"]["tokens"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lang", default="de")
    ap.add_argument("--max-mb", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    try:
        text = tmp / f"{args.lang}.txt"
        paras = build_text(args.lang, text, args.max_mb)
        f_runs, o_runs = [], []
        for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
            s, n_floor = floor(args.lang, text)
            f_runs.append(n_floor / s)
            s, n_ours = ours(args.lang, text, tmp)
            o_runs.append(n_ours / s)
        f, o = statistics.median(f_runs), statistics.median(o_runs)
        if args.json:
            print(
                json.dumps(
                    {
                        "lang": args.lang,
                        "mb": round(text.stat().st_size / 1e6, 2),
                        "paragraphs": paras,
                        "tokens": n_ours,
                        "repeat": args.repeat,
                        "floor_tokens_per_s": round(f),
                        "mltl_tokens_per_s": round(o),
                        "ratio": round(f / o, 3),
                    }
                )
            )
            return
        print(f"text: {paras:,} paragraphs, {text.stat().st_size / 1e6:.1f} MB of {args.lang} man-page prose")
        print(f"| spacy.blank({args.lang!r}).pipe (floor) | {f:,.0f} tokens/s |")
        print(f"| mltl prepare --unlabeled (sentences + jsonl) | {o:,.0f} tokens/s |")
        print(f"| ratio floor/mltl | {f / o:.2f}x (target <= 1.5x) |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
