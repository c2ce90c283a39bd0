"""Tokenizers shared by ``prepare``, ``embed`` and ``predict``.

One function, :func:`get_tokenizer`, so that training text, embedding text and
prediction input are split the same way — a mismatch there silently costs
vocabulary coverage. Kinds:

* ``spacy``: ``spacy.blank(lang)`` rule-based tokenizer, no model download;
  sentences from spaCy's rule-based ``sentencizer``. Chinese uses the ``jieba``
  segmenter (spaCy's default splits every character); Japanese needs ``sudachipy``.
* ``whitespace``: ``str.split``; one line is one sentence (for pre-tokenized text).
* ``sentencepiece``: subword pieces from a trained model, for scripts spaCy cannot
  split without extra dictionaries.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

from mltl.errors import InputError
from mltl.langs import check_lang, spacy_code

if TYPE_CHECKING:
    from spacy.language import Language

TOKENIZERS = ("spacy", "whitespace", "sentencepiece")
Span = tuple[str, int, int]  # token text, start char, end char (exclusive)

_BATCH = 1000


class Tokenizer(Protocol):
    name: str
    lang: str

    def tokenize(self, text: str) -> list[str]: ...
    def tokenize_with_offsets(self, text: str) -> list[Span]: ...
    def pipe(self, texts: Iterable[str]) -> Iterator[list[str]]: ...
    def sentences(self, texts: Iterable[str]) -> Iterator[list[list[str]]]: ...


# The longest text spaCy is given at once, in UTF-8 bytes. Sudachi (spaCy's Japanese tokenizer)
# refuses more than 49,149 bytes ("Input is too long"), and a Japanese man page can be one such
# paragraph; spaCy's own nlp.max_length is 1,000,000 characters. Longer texts go in pieces.
MAX_BYTES = {"ja": 40_000}
MAX_BYTES_DEFAULT = 1_000_000
# a sentence end: the space after . ! ? (sentencepiece's sentences split there), or after 。！？
_SENT_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
# where a piece may end, best first: after a line break, a sentence end, a space
_CUTS = (re.compile(r"\n"), _SENT_END, re.compile(r"\s"))


def split_long(text: str, max_bytes: int) -> list[tuple[int, str]]:
    """``(start character, piece)`` of ``text`` in order, each piece at most ``max_bytes`` of
    UTF-8, cut after the last line break, else sentence end, else space before the limit
    (mid-word only when a piece has none; one character when even that is over the limit).
    The pieces joined are ``text``."""
    if len(text) * 4 <= max_bytes or len(text.encode("utf-8")) <= max_bytes:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        window = text[start : start + max_bytes].encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
        cut = max(1, len(window))  # a limit below one character's bytes still moves on
        if start + cut < len(text):
            for pattern in _CUTS:
                ends = [m.end() for m in pattern.finditer(window)]
                if ends and ends[-1] > 0:
                    cut = ends[-1]
                    break
        out.append((start, text[start : start + cut]))
        start += cut
    return out


class SpacyTokenizer:
    """spaCy's rule-based tokenizer for ``lang`` (``spacy.blank``), plus the sentencizer."""

    name = "spacy"

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._nlp = _blank(lang)
        self._sent_nlp: Language | None = None
        self.max_bytes = MAX_BYTES.get(lang, MAX_BYTES_DEFAULT)

    def tokenize(self, text: str) -> list[str]:
        return [t for t, _, _ in self.tokenize_with_offsets(text)]

    def tokenize_with_offsets(self, text: str) -> list[Span]:
        return [
            (t.text, at + t.idx, at + t.idx + len(t.text))
            for at, piece in split_long(text, self.max_bytes)
            for t in self._nlp.tokenizer(piece)
            if not t.is_space
        ]

    def _docs(self, pipe, texts: Iterable[str]) -> Iterator[list]:
        """The Docs of each text (one per piece of it, see :func:`split_long`), texts batched."""
        counts: list[int] = []

        def pieces() -> Iterator[str]:
            for text in texts:
                parts = split_long(text, self.max_bytes)
                counts.append(len(parts))
                yield from (p for _, p in parts)

        # spaCy reads a text before it yields its Doc, so counts[k] is known when needed
        docs = iter(pipe(pieces(), batch_size=_BATCH))
        for k, doc in enumerate(docs):
            group = [doc]
            while len(group) < counts[k]:
                group.append(next(docs))
            yield group

    def pipe(self, texts: Iterable[str]) -> Iterator[list[str]]:
        for docs in self._docs(self._nlp.tokenizer.pipe, texts):
            yield [t.text for doc in docs for t in doc if not t.is_space]

    def sentences(self, texts: Iterable[str]) -> Iterator[list[list[str]]]:
        if self._sent_nlp is None:
            self._sent_nlp = _blank(self.lang)
            self._sent_nlp.add_pipe("sentencizer")
        for docs in self._docs(self._sent_nlp.pipe, texts):
            sents = [[t.text for t in s if not t.is_space] for doc in docs for s in doc.sents]
            yield [s for s in sents if s]


# Set by the CLI (mltl.cli.main): its process needs spaCy for tokenization only, never thinc's
# PyTorch layers. thinc imports torch when it can, which costs 3 s of every `mltl prepare` and
# `mltl embed` (`import spacy`: 5.8 s -> 2.5 s here without it). A library user's process keeps
# thinc as it is: spaCy components built on torch may live there.
SPACY_WITHOUT_TORCH = False


def import_spacy():
    """``import spacy``; in a CLI process that has not loaded torch, without thinc's torch support."""
    if not SPACY_WITHOUT_TORCH or "torch" in sys.modules or "spacy" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # `import torch` raises ImportError in thinc
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]  # a later `import torch` (e.g. a model) loads it as usual
    return spacy


def _blank(lang: str):
    spacy = import_spacy()

    if lang == "zh":
        if importlib.util.find_spec("jieba") is None:
            raise InputError(
                "Chinese word segmentation needs jieba: pip install jieba (or use --tokenizer sentencepiece)"
            )
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not ours to print
        return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    if lang == "ja" and (
        importlib.util.find_spec("sudachipy") is None or importlib.util.find_spec("sudachidict_core") is None
    ):
        raise InputError(
            "Japanese tokenization with spaCy needs sudachipy: "
            "pip install sudachipy sudachidict-core (or use --tokenizer sentencepiece)"
        )
    if lang == "ko" and importlib.util.find_spec("natto") is None and importlib.util.find_spec("mecab") is None:
        raise InputError(
            "Korean tokenization with spaCy needs mecab-ko (natto-py); use --tokenizer sentencepiece instead"
        )
    try:
        return spacy.blank(spacy_code(lang))
    except ImportError as exc:
        raise InputError(
            f"spaCy's tokenizer for {lang!r} needs an extra package: {exc} (or use --tokenizer sentencepiece)"
        ) from None


class WhitespaceTokenizer:
    """Splits on whitespace; each input line is one sentence (pre-tokenized text)."""

    name = "whitespace"

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def tokenize(self, text: str) -> list[str]:
        return text.split()

    def tokenize_with_offsets(self, text: str) -> list[Span]:
        return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]

    def pipe(self, texts: Iterable[str]) -> Iterator[list[str]]:
        for t in texts:
            yield t.split()

    def sentences(self, texts: Iterable[str]) -> Iterator[list[list[str]]]:
        for t in texts:
            toks = t.split()
            yield [toks] if toks else []


class SentencePieceTokenizer:
    """Subword pieces of a sentencepiece model; word-initial marks (▁) are dropped."""

    name = "sentencepiece"

    def __init__(self, lang: str, model: str | Path) -> None:
        import sentencepiece as spm

        self.lang = lang
        self.model_path = str(model)
        if not Path(model).is_file():
            raise InputError("sentencepiece model not found", path=model)
        try:
            self._sp = spm.SentencePieceProcessor(model_file=str(model))
        except (RuntimeError, OSError) as exc:
            raise InputError(f"not a sentencepiece model ({exc})", path=model) from None

    def tokenize(self, text: str) -> list[str]:
        return [t for t, _, _ in self.tokenize_with_offsets(text)]

    def tokenize_with_offsets(self, text: str) -> list[Span]:
        # Offsets by walking the text: pieces are surface strings when the model was trained
        # with identity normalisation (ours are); otherwise fall back to the piece length.
        out: list[Span] = []
        pos = 0
        for piece in self._sp.encode(text, out_type=str):
            surf = piece.replace("\u2581", " ").strip()
            if not surf:
                continue
            while pos < len(text) and text[pos].isspace():
                pos += 1
            end = pos + len(surf) if text.startswith(surf, pos) else min(len(text), pos + len(surf))
            out.append((text[pos:end], pos, end))
            pos = end
        return out

    def pipe(self, texts: Iterable[str]) -> Iterator[list[str]]:
        for t in texts:
            yield self.tokenize(t)

    def sentences(self, texts: Iterable[str]) -> Iterator[list[list[str]]]:
        for t in texts:
            sents = [self.tokenize(s) for s in _SENT_END.split(t) if s.strip()]
            yield [s for s in sents if s]


def train_sentencepiece(lines: Iterable[str], model_prefix: str | Path, vocab_size: int = 8000) -> Path:
    """Train a unigram sentencepiece model on ``lines``; returns the ``.model`` path.

    ``hard_vocab_limit=False`` so a small corpus gets a smaller vocabulary instead of failing.
    """
    import sentencepiece as spm

    sentences = (ln for ln in lines if ln.strip())
    spm.SentencePieceTrainer.train(
        sentence_iterator=sentences,
        model_prefix=str(model_prefix),
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=0.9995,
        model_type="unigram",
        normalization_rule_name="identity",  # pieces stay substrings of the input (offsets)
        minloglevel=2,
        num_threads=2,
    )
    return Path(f"{model_prefix}.model")


def get_tokenizer(lang: str, kind: str = "spacy", sp_model: str | Path | None = None) -> Tokenizer:
    """The tokenizer for ``lang`` of the given kind (see module docstring)."""
    lang = check_lang(lang)
    if kind == "spacy":
        return SpacyTokenizer(lang)
    if kind == "whitespace":
        return WhitespaceTokenizer(lang)
    if kind == "sentencepiece":
        if sp_model is None:
            raise InputError(
                "--tokenizer sentencepiece needs --sp-model FILE (train one with "
                "`mltl prepare --unlabeled --tokenizer sentencepiece`)"
            )
        return SentencePieceTokenizer(lang, sp_model)
    raise InputError(f"unknown tokenizer {kind!r}; choose one of: {', '.join(TOKENIZERS)}")
