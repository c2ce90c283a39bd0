"""S2: `mltl predict` tokens/s on raw text and peak RSS as the input grows.

    python bench/bench_predict.py --model out/quickstart/model/model-best --text de.txt --lang de

Runs the real CLI on the text, then on the text repeated --grow times, and prints
tokens/s and peak RSS (ru_maxrss of the child) for both: RSS must stay flat.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(model: str, text: Path, lang: str, threads: int) -> tuple[float, int, float]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "mltl", "predict", "--model", model, str(text), "--lang", lang,
                        "--format", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    secs = time.perf_counter() - t
    if p.returncode:
        sys.exit(p.stderr)
    tokens = sum(len(json.loads(line)["tokens"]) for line in p.stdout.splitlines())
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, tokens, max(rss, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True, type=Path)
    ap.add_argument("--lang", default="de")
    ap.add_argument("--grow", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.txt"
        data = args.text.read_bytes()
        big.write_bytes(data * args.grow)
        for name, path in (("1x", args.text), (f"{args.grow}x", big)):
            secs, tokens, rss = run(args.model, path, args.lang, args.threads)
            print(f"| {name} ({path.stat().st_size / 1e6:.1f} MB) | {tokens:,} tokens | {tokens / secs:,.0f} tokens/s "
                  f"(incl. start-up) | peak RSS {rss:,.0f} MB |")


if __name__ == "__main__":
    main()
