"""Word vectors: I/O, fastText training, cross-lingual alignment and BLI evaluation.

Importing this package is cheap (numpy only); torch and fasttext are imported by
the functions that need them. The public API::

    from mltl.embeddings import load_vectors, save_vectors, Vectors, normalize
    from mltl.embeddings.align import align, AlignConfig
    from mltl.embeddings.bli import evaluate_bli, run_bli
"""
from mltl.embeddings.vectors import Vectors, center, load_vectors, normalize, save_vectors, unit_length

__all__ = ["Vectors", "load_vectors", "save_vectors", "normalize", "unit_length", "center"]
