"""S4 (embed): `mltl embed` wall time against plain fastText on the same text.

Builds raw prose from the installed Debian man pages of LANG (as bench_prepare.py does),
then, alternating, --repeat times:

* the floor: fastText alone on the raw file (it splits on whitespace), trained and saved
  by ``mltl.embeddings.fasttext_child`` with ``mltl embed``'s arguments, in a fresh process;
* ``mltl embed``: the real CLI, end to end (spaCy tokenization, the same fastText
  training with the same hyper-parameters and threads, ``.bin`` and ``.vec`` written).

The difference is what mltl adds: tokenizing as ``prepare`` does and writing the ``.vec``.

    python bench/bench_embed.py --lang de --max-mb 5 --dim 100 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_prepare import build_text  # noqa: E402


def floor(text: Path, out: Path, a) -> float:
    """fastText alone: the child `mltl embed` trains in, on the raw text, with the same arguments."""
    from mltl.embeddings.train import EmbedConfig, fasttext_kwargs

    cfg = EmbedConfig(dim=a.dim, epoch=a.epoch, bucket=a.bucket, threads=a.threads)
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mltl.embeddings.fasttext_child",
            json.dumps(fasttext_kwargs(cfg, text)),
            str(out / "floor.bin"),
        ],
        check=True,
    )
    return time.perf_counter() - t


def ours(text: Path, out: Path, a) -> tuple[float, dict]:
    cmd = [
        sys.executable,
        "-m",
        "mltl",
        "-q",
        "embed",
        "--lang",
        a.lang,
        "--format",
        "text",
        str(text),
        "--dim",
        str(a.dim),
        "--epoch",
        str(a.epoch),
        "--bucket",
        str(a.bucket),
        "--threads",
        str(a.threads),
        "--json",
        "-o",
        str(out / "ours"),
    ]
    t = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t, json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lang", default="de")
    ap.add_argument("--max-mb", type=float, default=5.0)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--epoch", type=int, default=5)
    ap.add_argument("--bucket", type=int, default=2000000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        text = tmp / f"{a.lang}.txt"
        paras = build_text(a.lang, text, a.max_mb)
        f_runs, o_runs, summary = [], [], {}
        for _ in range(a.repeat):  # interleaved, so machine noise hits both alike
            f_runs.append(floor(text, tmp, a))
            secs, summary = ours(text, tmp, a)
            o_runs.append(secs)
        f, o = statistics.median(f_runs), statistics.median(o_runs)
        res = {
            "lang": a.lang,
            "mb": round(text.stat().st_size / 1e6, 2),
            "paragraphs": paras,
            "tokens": summary["tokens"],
            "dim": a.dim,
            "epoch": a.epoch,
            "threads": a.threads,
            "repeat": a.repeat,
            "fasttext_s": round(f, 2),
            "mltl_s": round(o, 2),
            "mltl_tokenize_s": summary["tokenize_seconds"],
            "mltl_train_s": summary["train_seconds"],
            "ratio": round(o / f, 3),
        }
    if a.json:
        print(json.dumps(res))
        return
    print(
        f"text: {paras:,} paragraphs, {res['mb']} MB of {a.lang} man-page prose, {res['tokens']:,} spaCy tokens; "
        f"skipgram dim {a.dim}, {a.epoch} epochs, {a.threads} threads; median of {a.repeat}"
    )
    print("| | seconds |\n|---|---|")
    print(f"| fastText alone, train + `save_model` (the floor) | {f:.1f} |")
    print(
        f"| `mltl embed` (tokenize {res['mltl_tokenize_s']:.1f} s, train {res['mltl_train_s']:.1f} s, "
        f".bin + .vec) | {o:.1f} |"
    )
    print(f"| ratio mltl/floor | {o / f:.2f}× |")


if __name__ == "__main__":
    main()
