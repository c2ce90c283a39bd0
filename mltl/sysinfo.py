"""Facts about this installation, for `mltl info` and bug reports."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import platform

from mltl import __version__
from mltl.langs import spacy_languages

PACKAGES = [
    "torch",
    "numpy",
    "spacy",
    "fasttext-numpy2",
    "sentencepiece",
    "conllu",
    "typer",
    "rich",
    "jieba",
    "sudachipy",
]


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def device() -> str:
    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return f"cuda ({', '.join(names)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def threads() -> dict:
    """The CPU thread plan of this process (mltl/runtime.py) and what torch reports."""
    import torch

    from mltl.runtime import current

    out = current().as_dict()
    out["torch_threads"] = torch.get_num_threads()
    return out


def plugins() -> list[str]:
    """Declared plugins (entry points of group ``mltl.plugins``), as ``name (dist version)``.

    The same discovery as ``mltl plugins`` (:func:`mltl.registry.entry_points`), but
    nothing is imported: ``mltl plugins`` loads them and shows their status.
    """
    from mltl.registry import entry_points

    return [f"{p.name} ({p.origin})" for p in entry_points()]


def tokenizers() -> dict[str, object]:
    """Which tokenizers work here: True, or the reason they don't."""
    has = lambda mod: importlib.util.find_spec(mod) is not None  # noqa: E731
    out: dict[str, object] = {"whitespace": True}
    out["spacy"] = True if has("spacy") else "pip install spacy"
    out["sentencepiece"] = True if has("sentencepiece") else "pip install sentencepiece"
    out["zh (jieba)"] = True if has("jieba") else "pip install jieba"
    out["ja (sudachipy)"] = (
        True
        if (has("sudachipy") and has("sudachidict_core"))
        else "pip install sudachipy sudachidict-core, or use --tokenizer sentencepiece"
    )
    return out


def collect() -> dict:
    return {
        "mltl": __version__,
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "device": device(),
        "threads": threads(),
        "plugins": plugins(),
        "tokenizers": tokenizers(),
        "languages": spacy_languages(),
    }
