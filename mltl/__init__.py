"""mltl: zero-resource multilingual NLP with MAN-MoE (Chen et al., ACL 2019).

Importing ``mltl`` is cheap: torch and spaCy are imported only by the functions
that need them, so ``mltl --help`` starts fast. The public API::

    from mltl.data.prepare import prepare_labeled, prepare_unlabeled
    from mltl.text.tokenize import get_tokenizer
"""

from __future__ import annotations

__version__ = "0.1.0"

from mltl.errors import InputError, InternalError, MltlError  # noqa: E402  (cheap)

__all__ = ["__version__", "MltlError", "InputError", "InternalError"]
