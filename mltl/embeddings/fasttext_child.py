"""Child process that trains one fastText model (see ``train._train_fasttext`` for why).

Usage: ``python -m mltl.embeddings.fasttext_child KWARGS_JSON OUT_BIN``. On
failure it prints one line (the fastText error) on stderr and exits 1.
"""
from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    import fasttext

    kwargs, out_bin = json.loads(argv[0]), argv[1]
    try:
        fasttext.train_unsupervised(**kwargs).save_model(out_bin)
    except (RuntimeError, ValueError, MemoryError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
