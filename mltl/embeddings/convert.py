"""Convert vectors to the compact form without aligning them (issue 21).

    python -m mltl.embeddings.convert cc.de.300.vec vectors/de --dtype float16

A text ``.vec`` is streamed: rows are parsed, checked and written block by block, so
fastText's 2,000,000 x 300 files convert with a few hundred MB of memory. The
directory (``vectors.npy`` + ``vocab.txt`` + ``meta.json``) or ``NAME.npy`` +
``NAME.vocab.txt`` loads memory-mapped in a second (``mltl predict --vectors``,
``mltl train --vectors``, ``mltl align``). See :func:`mltl.embeddings.vectors.convert_vectors`.
"""

from __future__ import annotations

import argparse
import sys
import time

from mltl.errors import MltlError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mltl.embeddings.convert",
        description="Write vectors (.vec, .vec.gz, .bin, .npy or a directory) in the compact form, streaming.",
    )
    ap.add_argument("src", help="vectors to read ('-' = .vec text on stdin)")
    ap.add_argument("dst", help="output: a directory, or NAME.npy (+ NAME.vocab.txt beside it)")
    ap.add_argument("--format", choices=("dir", "npy"), help="default: npy for a .npy name, else dir")
    ap.add_argument("--dtype", choices=("float32", "float16"), default="float32", help="float16 halves the size")
    ap.add_argument("--max-vocab", type=int, default=0, help="keep the N most frequent words (0 = all)")
    ap.add_argument("--duplicates", choices=("error", "first"), default="error", help="a word seen twice")
    ap.add_argument("--force", action="store_true", help="replace an existing output")
    args = ap.parse_args(argv)
    from mltl import log
    from mltl.embeddings.vectors import convert_vectors

    t0 = time.perf_counter()
    try:
        out = convert_vectors(
            args.src,
            args.dst,
            format=args.format,
            dtype=args.dtype,
            max_vocab=args.max_vocab or None,
            duplicates=args.duplicates,
            force=args.force,
        )
    except MltlError as exc:
        log.error(str(exc))
        return exc.exit_code
    print(f"wrote {out} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
