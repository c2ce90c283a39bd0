"""Child process that trains one fastText model (see ``train._train_fasttext`` for why).

Usage: ``python -m mltl.embeddings.fasttext_child KWARGS_JSON OUT_BIN``. On
failure it prints one line (the fastText error) on stderr and exits 1.
"""

from __future__ import annotations

import json
import sys


def train_unsupervised(**kwargs):
    """``fasttext.train_unsupervised`` that also honours ``seed``.

    fastText's C++ trainer seeds each thread's generator with ``seed + thread id``,
    but the Python binding's ``train_unsupervised`` rejects a ``seed`` keyword
    (only ``train_supervised`` lists it). The binding's own argument builder takes
    every key of its unsupervised defaults, ``seed`` among them, so the model is
    built here the way ``train_unsupervised`` builds it, with the seed set.
    """
    import fasttext

    try:
        import fasttext_pybind
        from fasttext.FastText import _build_args, _FastText, read_args, unsupervised_default
    except ImportError:  # a binding without these internals: train without the seed
        kwargs.pop("seed", None)
        return fasttext.train_unsupervised(**kwargs)
    names = ["input", *unsupervised_default]
    args, manual = read_args((), kwargs, names, unsupervised_default)
    a = _build_args(args, manual)
    model = _FastText(args=a)
    fasttext_pybind.train(model.f, a)
    model.set_args(model.f.getArgs())
    return model


def main(argv: list[str]) -> int:
    kwargs, out_bin = json.loads(argv[0]), argv[1]
    try:
        train_unsupervised(**kwargs).save_model(out_bin)
    except (RuntimeError, ValueError, MemoryError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
