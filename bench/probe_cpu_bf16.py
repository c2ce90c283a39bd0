"""Does bf16 pay on this CPU? Conv1d forward + backward of CharCNN- and D-shaped inputs,
fp32 against ``torch.autocast("cpu", dtype=torch.bfloat16)`` (issue 25).

    python bench/probe_cpu_bf16.py [--threads 1]

Shapes: (words, char-embedding 50, 12 chars) with 200 kernels (CharCNN's convolution
form) and (64 sentences, 128 features, 60 tokens) with 200 kernels (D); widths 3 and 5.
Prints ms per forward + backward (median of 10 after 3 warm-ups).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def ms(fn, reps: int = 10) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"{'input (N, C, L)':<20}{'width':>6}{'fp32 ms':>10}{'bf16 ms':>10}")
    for n, c, length in ((1200, 50, 12), (64, 128, 60)):
        x = torch.randn(n, c, length, requires_grad=True)
        for w in (3, 5):
            conv = torch.nn.Conv1d(c, 200, w, padding=w - 1)

            def fp32() -> None:
                conv(x).amax(2).sum().backward()

            def bf16() -> None:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    y = conv(x)
                y.float().amax(2).sum().backward()

            print(f"{str((n, c, length)):<20}{w:>6}{ms(fp32):>10.1f}{ms(bf16):>10.1f}")


if __name__ == "__main__":
    main()
