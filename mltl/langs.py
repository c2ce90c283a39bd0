"""Language codes: what spaCy can tokenize here, checked without importing spaCy."""

from __future__ import annotations

import functools
import importlib.util
import os

from mltl.errors import InputError

# spaCy's "xx" (multi-language) is accepted too; it tokenizes like the rule-based default.

# ISO 639-1: every two-letter language code. A language spaCy has no rules for (Swahili,
# Hausa, …) is still a language mltl can transfer to: its text is tokenized by spaCy's
# multi-language ("xx") rules, which split punctuation from words in any script that
# separates words by spaces. A code outside this list is a typo, and is refused.
ISO639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy
    hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li
    ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa
    pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th
    ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)


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
    """Return ``lang`` if known (spaCy's or ISO 639-1), else raise :class:`InputError`."""
    code = (lang or "").strip().lower()
    langs = spacy_languages()
    if code not in langs and code not in ISO639_1:
        raise InputError(
            f"unknown language code {lang!r}; supported: {', '.join(langs)} "
            "(and any other ISO 639-1 code, tokenized by spaCy's multi-language rules)"
        )
    return code


def spacy_code(lang: str) -> str:
    """The spaCy language whose tokenizer ``lang`` uses: its own, else multi-language ``xx``."""
    return lang if lang in spacy_languages() else "xx"
