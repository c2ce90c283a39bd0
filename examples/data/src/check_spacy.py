#!/usr/bin/env python3
"""Compare the NER tokenization with spacy.blank(lang) (needs spaCy; not used by build).

For every sentence the tokens are detokenized into plain text (no space before
closing punctuation, none after opening brackets, English clitics attached) and
re-tokenized; prints the fraction of sentences whose tokens match exactly.
Usage: python examples/data/src/check_spacy.py [lang ...] [-v]
"""
import re
import sys
from pathlib import Path

import spacy

DATA = Path(__file__).resolve().parent.parent
NO_SPACE_BEFORE = {".", ",", ";", ":", "!", "?", ")", "%", "'s", "n't", "'", "’s", "...", "»"}
NO_SPACE_AFTER = {"(", "¿", "¡", "«"}


def detok(tokens):
    out = ""
    for i, t in enumerate(tokens):
        if i and t not in NO_SPACE_BEFORE and tokens[i - 1] not in NO_SPACE_AFTER:
            out += " "
        out += t
    return out


def sentences(path):
    sent = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line:
            sent.append(line.split(" ")[0])
        elif sent:
            yield sent
            sent = []


def main(args):
    verbose = "-v" in args
    langs = [a for a in args if a != "-v"] or ["en", "de", "es", "nl"]
    for lang in langs:
        nlp = spacy.blank(lang)
        total = ok = 0
        for split in ("train", "dev", "test"):
            for toks in sentences(DATA / "ner" / lang / f"{split}.txt"):
                total += 1
                got = [t.text for t in nlp(detok(toks))]
                if got == toks:
                    ok += 1
                elif verbose:
                    print(f"  {lang}: ours={toks}\n      spacy={got}")
        print(f"{lang}: {ok}/{total} sentences match spacy.blank({lang!r}) = {ok / max(total, 1):.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
