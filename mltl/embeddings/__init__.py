"""Word vectors: I/O, fastText training, cross-lingual alignment and BLI evaluation.

Importing this package is free (the CLI imports its settings modules to build options);
numpy comes with the first name used, torch and fasttext with the functions that need them.
The public API::

    from mltl.embeddings import load_vectors, save_vectors, Vectors, normalize
    from mltl.embeddings.align import align, AlignConfig
    from mltl.embeddings.bli import evaluate_bli, run_bli
"""

from __future__ import annotations

from typing import Any

__all__ = ["Vectors", "load_vectors", "save_vectors", "normalize", "unit_length", "center"]


def __getattr__(name: str) -> Any:
    # PEP 562: mltl.embeddings.vectors (numpy) loads at the first use of one of its names
    if name in __all__:
        from mltl.embeddings import vectors

        return getattr(vectors, name)
    raise AttributeError(f"module 'mltl.embeddings' has no attribute {name!r}")
