"""mltl: zero-resource multilingual NLP with MAN-MoE (Chen et al., ACL 2019).

Importing ``mltl`` is cheap: torch and spaCy are imported only by the functions
that need them, so ``mltl --help`` starts fast. The public API::

    from mltl import load_model                      # a model directory or an installed package name
    from mltl.config import merge                    # a TrainConfig from dicts / TOML
    from mltl.training import train, resume
    from mltl.data.prepare import prepare
    from mltl.text.tokenize import get_tokenizer
"""

from __future__ import annotations

__version__ = "0.1.0"

from mltl.errors import InputError, InternalError, MltlError  # noqa: E402  (cheap)

__all__ = ["__version__", "MltlError", "InputError", "InternalError", "load_model"]


def __getattr__(name: str):  # PEP 562: `mltl.load_model` without importing torch at `import mltl`
    if name == "load_model":
        from mltl.models.model import load_model

        return load_model
    raise AttributeError(f"module 'mltl' has no attribute {name!r}")
