"""``--label-map``: rename, fold or drop labels while preparing a dataset.

One mechanism for both tasks (spec: ``FROM=TO`` pairs, comma-separated, repeatable):

- classification: a document's label ``FROM`` becomes ``TO``; ``FROM=`` (empty) drops
  the document. MARC stars: ``1=negative,2=negative,3=,4=positive,5=positive``.
- tagging: entity *types* are mapped, with their B-/I- (or E-/S-/L-/U-) prefix kept:
  ``LOCpart=LOC`` turns ``B-LOCpart`` into ``B-LOC``; ``LOCderiv=O`` makes those spans
  outside. For tags without spans (``--scheme plain``) the whole tag is mapped.

Labels the map does not name are kept as they are.
"""

from __future__ import annotations

from typing import Iterable

from mltl.data.schemes import split_tag
from mltl.errors import InputError

DROP = ""  # the target that drops a document


def parse_label_map(specs: Iterable[str] | str | None) -> dict[str, str]:
    """``["1=neg,2=neg", "3="]`` -> ``{"1": "neg", "2": "neg", "3": ""}``."""
    if specs is None:
        return {}
    if isinstance(specs, str):
        specs = [specs]
    out: dict[str, str] = {}
    for spec in specs:
        for pair in spec.split(","):
            if not pair.strip():
                continue
            if "=" not in pair:
                raise InputError(f"--label-map {pair!r}: expected FROM=TO (FROM= drops a document)")
            src, dst = (x.strip() for x in pair.split("=", 1))
            if not src:
                raise InputError(f"--label-map {pair!r}: empty FROM label")
            if src in out and out[src] != dst:
                raise InputError(f"--label-map maps {src!r} twice ({out[src]!r} and {dst!r})")
            out[src] = dst
    return out


def map_tags(tags: list[str], mapping: dict[str, str], spans: bool) -> list[str]:
    """Map the entity types of one sentence's tags (or whole tags when ``spans`` is False)."""
    if not mapping:
        return tags
    out = []
    for tag in tags:
        prefix, typ = split_tag(tag) if spans else ("", tag)
        if prefix in ("", "O"):
            out.append(mapping.get(tag, tag))
            continue
        new = mapping.get(typ, typ)
        out.append("O" if new == "O" else f"{prefix}-{new}")
    return out


def check_tag_map(mapping: dict[str, str]) -> None:
    """Tagging has no "drop": a type is folded into another or into O."""
    empty = [k for k, v in mapping.items() if v == DROP]
    if empty:
        raise InputError(
            f"--label-map {empty[0]}= drops documents, which tagging has not; "
            f"use {empty[0]}=O to make those spans outside"
        )
