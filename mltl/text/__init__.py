"""Tokenization and sentence splitting (spaCy rule-based, whitespace, sentencepiece)."""

from mltl.text.tokenize import TOKENIZERS, Tokenizer, get_tokenizer

__all__ = ["TOKENIZERS", "Tokenizer", "get_tokenizer"]
