"""Settings of ``mltl embed``: fastText's hyper-parameters (:class:`EmbedConfig`) and how the
text is read (:class:`TextInput`). No numpy or fastText here: the CLI builds its options from
these fields."""

from __future__ import annotations

from dataclasses import dataclass

from mltl.errors import InputError
from mltl.setting import setting

INPUT_FORMATS = ("auto", "text", "roff", "html", "jsonl")


@dataclass
class EmbedConfig:
    """fastText hyper-parameters (names as in fastText, defaults of ``mltl embed``)."""

    model: str = setting("skipgram", help="skipgram | cbow.")
    dim: int = setting(300, help="Vector dimension.")
    min_count: int = setting(5, help="Ignore words rarer than this.")
    epoch: int = setting(5, help="Training epochs.")
    lr: float = setting(0.05, help="Learning rate.")
    ws: int = setting(5, help="Context window size.")
    neg: int = setting(5, cli=False)
    minn: int = setting(3, help="Min character n-gram length (0 = no subwords).")
    maxn: int = setting(6, help="Max character n-gram length.")
    bucket: int | None = setting(
        None,
        default_help="sized to the corpus",
        help=(
            "Hash buckets for character n-grams; the .bin holds (words + bucket) x dim floats. Default: 20 per word "
            "with count >= --min-count, at least 10,000 and at most 2,000,000 (fastText's default)."
        ),
    )
    # 1 by default: fastText's threads update the vectors without locks (Hogwild), so
    # only one thread gives the same vectors twice for a seed; 0 = all cores.
    threads: int = setting(
        1,
        help=(
            "Training threads; 0 = all cores. More threads are faster, but fastText's threads update the vectors "
            "without locks, so only --threads 1 gives the same vectors twice for a --seed."
        ),
    )
    seed: int = setting(0, help="Random seed (with --threads 1, the same seed gives the same vectors).")

    def check(self) -> None:
        if self.model not in ("skipgram", "cbow"):
            raise InputError(f"unknown fastText model {self.model!r}; choose skipgram or cbow")
        for name in ("dim", "min_count", "epoch"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.bucket is not None and self.bucket < 0:
            raise InputError(f"--bucket must be 0 or more, got {self.bucket}")


@dataclass
class TextInput:
    """How ``mltl embed`` reads and tokenizes its input (as ``mltl prepare`` does)."""

    fmt: str = setting(
        "auto",
        flags=("--format", "-f"),
        help=(
            "auto | text | roff | html | jsonl (auto: .jsonl is JSONL, .html/.htm/.xhtml are HTML, "
            "files under a man/ directory are roff)."
        ),
    )
    tokenizer: str = setting("spacy", help="spacy | whitespace | sentencepiece (same tokenizers as `mltl prepare`).")
    sp_model: str | None = setting(
        None, metavar="<file>", help="sentencepiece model; without it one is trained and written as PREFIX.sp.model."
    )
    encoding: str = setting("utf-8", help="Encoding of text, roff and HTML inputs (JSONL is always UTF-8).")
    lowercase: bool = setting(False, flags="--lowercase", help="Lowercase tokens before training.")


__all__ = ["INPUT_FORMATS", "EmbedConfig", "TextInput"]
