"""Tokenizing texts longer than a tokenizer takes at once (mltl.text.tokenize.split_long)."""

import json

import pytest
from conftest import run_cli

from mltl.text.tokenize import get_tokenizer, split_long

TEXT = "Hello world. This is a longer text!\nAnother line here, with words and more words. Ünïcödé ends"


def test_pieces_rejoin_stay_under_the_limit_and_cut_at_the_best_boundary():
    pieces = split_long(TEXT, 40)
    assert "".join(p for _, p in pieces) == TEXT
    assert all(len(p.encode("utf-8")) <= 40 for _, p in pieces)
    assert all(TEXT[at : at + len(p)] == p for at, p in pieces)
    # a line break first, else a sentence end, else a space: no piece ends inside a word
    assert [p for _, p in pieces[:2]] == [
        "Hello world. This is a longer text!\n",
        "Another line here, with words and more ",
    ]
    assert split_long("One. Two three four five six", 20)[0] == (0, "One. ")
    assert all(p[-1].isspace() or p[-1] in ".!" for _, p in pieces[:-1])
    assert split_long(TEXT, 1000) == [(0, TEXT)]
    # nowhere to cut: a hard cut, never inside a character's bytes
    cjk = "東京は日本の首都です" * 10
    hard = split_long(cjk, 16)
    assert "".join(p for _, p in hard) == cjk and {len(p.encode("utf-8")) for _, p in hard[:-1]} == {15}
    assert [p for _, p in split_long("東京x", 2)] == ["東", "京", "x"]  # below one character: one each


def test_a_long_text_tokenizes_in_pieces_exactly_as_whole():
    whole = get_tokenizer("en", "spacy")
    pieced = get_tokenizer("en", "spacy")
    pieced.max_bytes = 40  # as Japanese is cut at 40,000 bytes for Sudachi
    assert pieced.tokenize(TEXT) == whole.tokenize(TEXT)
    assert pieced.tokenize_with_offsets(TEXT) == whole.tokenize_with_offsets(TEXT)
    texts = ["short", TEXT, "", TEXT + " again"]
    assert list(pieced.pipe(texts)) == list(whole.pipe(texts))
    assert [sum(s, []) for s in pieced.sentences(texts)] == [sum(s, []) for s in whole.sentences(texts)]


def test_japanese_paragraph_over_sudachis_limit_prepares(tmp_path):
    """A Japanese man page had a 77,519-byte paragraph: Sudachi refuses over 49,149 bytes."""
    pytest.importorskip("sudachipy")
    pytest.importorskip("sudachidict_core")
    (tmp_path / "ja.txt").write_text("これはペンです。" * 4000 + "\n", encoding="utf-8")  # 96,000 bytes, one line
    proc = run_cli("prepare", "--task", "unlabeled", "--lang", "ja", "ja.txt", "-o", "ja", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "ja" / "unlabeled.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4000 and {tuple(r["tokens"]) for r in rows} == {("これ", "は", "ペン", "です", "。")}
