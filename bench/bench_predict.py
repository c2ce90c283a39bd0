"""S2: `mltl predict` tokens/s on raw text and peak RSS as the input grows.

    python bench/bench_predict.py --model out/quickstart/model/model-best --text de.txt --lang de
    python bench/bench_predict.py --model M --text de.txt --sizes-mb 10,100   # flat RSS check

Runs the real CLI on the text, then on the text repeated --grow times (or repeated
up to each of --sizes-mb), and prints tokens/s and the peak RSS of each child
process on its own (``wait4``): RSS must stay flat as the input grows. Output goes
to a temporary file, counted line by line, so the benchmark itself stays small.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(model: str, text: Path, lang: str, threads: int, tmp: Path) -> tuple[float, int, float]:
    """One ``mltl predict`` run: (seconds, tokens, peak RSS in MB of that child alone)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = tmp / "pred.jsonl"
    t = time.perf_counter()
    with open(out, "wb") as f:
        p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mltl",
                "predict",
                "--model",
                model,
                str(text),
                "--lang",
                lang,
                "--format",
                "jsonl",
                "--quiet",
            ],
            stdout=f,
            stderr=subprocess.PIPE,
            env=env,
        )
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status):
        sys.exit(err.decode("utf-8", "replace"))
    with open(out, encoding="utf-8") as f:
        tokens = sum(len(json.loads(line)["tokens"]) for line in f)
    return secs, tokens, usage.ru_maxrss / 1024


def repeat_to(src: Path, dst: Path, size: int) -> None:
    data = src.read_bytes()
    with open(dst, "wb") as f:
        n = 0
        while n < size:
            f.write(data)
            n += len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True, type=Path)
    ap.add_argument("--lang", default="de")
    ap.add_argument("--grow", type=int, default=4, help="second run on the text repeated N times")
    ap.add_argument("--sizes-mb", default="", help="instead of --grow: runs on the text repeated up to these sizes")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON object per run instead of table rows")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = []
        if args.sizes_mb:
            for mb in args.sizes_mb.split(","):
                path = tmp / f"in-{mb}MB.txt"
                repeat_to(args.text, path, int(float(mb) * 1e6))
                inputs.append((f"{mb} MB target", path))
        else:
            big = tmp / "big.txt"
            big.write_bytes(args.text.read_bytes() * args.grow)
            inputs = [("1x", args.text), (f"{args.grow}x", big)]
        for name, path in inputs:
            secs, tokens, rss = run(args.model, path, args.lang, args.threads, tmp)
            if args.json:
                print(
                    json.dumps(
                        {
                            "input": name,
                            "mb": round(path.stat().st_size / 1e6, 2),
                            "tokens": tokens,
                            "seconds": round(secs, 2),
                            "tokens_per_s": round(tokens / secs),
                            "rss_mb": round(rss),
                        }
                    ),
                    flush=True,
                )
                continue
            print(
                f"| {name} ({path.stat().st_size / 1e6:.1f} MB) | {tokens:,} tokens | {tokens / secs:,.0f} tokens/s "
                f"(incl. start-up) | peak RSS {rss:,.0f} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
