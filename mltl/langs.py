"""Language codes: what spaCy can tokenize here, checked without importing spaCy."""

from __future__ import annotations

import functools
import importlib.util
import os

from mltl.errors import InputError

# spaCy's "xx" (multi-language) is accepted too; it tokenizes like the rule-based default.


@functools.lru_cache(maxsize=1)
def spacy_languages() -> list[str]:
    """ISO codes spaCy ships a rule-based tokenizer for (from its package layout)."""
    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        return []
    lang_dir = os.path.join(list(spec.submodule_search_locations)[0], "lang")
    return sorted(
        d
        for d in os.listdir(lang_dir)
        if os.path.isfile(os.path.join(lang_dir, d, "__init__.py")) and not d.startswith("_")
    )


def check_lang(lang: str) -> str:
    """Return ``lang`` if known, else raise :class:`InputError` listing the supported codes."""
    code = (lang or "").strip().lower()
    langs = spacy_languages()
    if code not in langs:
        raise InputError(f"unknown language code {lang!r}; supported: {', '.join(langs)}")
    return code
