"""Freedict (dictd) -> MUSE dictionaries: parsing and source-disjoint splits."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from mltl.embeddings.freedict import convert, langs_of, read_freedict, split_by_source
from mltl.errors import InputError

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(n: int) -> str:
    s = ""
    while True:
        s = B64[n % 64] + s
        n //= 64
        if n == 0:
            return s


def make_dictd(tmp: Path, name: str, entries: list[tuple[str, str]]) -> Path:
    """Write a dictd pair (index + dict.dz) the way dictfmt lays it out."""
    data, index = b"", []
    for key, body in [("00-database-short", "test dictionary\n")] + entries:
        raw = body.encode("utf-8")
        index.append(f"{key}\t{_b64(len(data))}\t{_b64(len(raw))}\n")
        data += raw
    (tmp / f"{name}.dict.dz").write_bytes(gzip.compress(data))
    (tmp / f"{name}.index").write_text("".join(index), encoding="utf-8")
    return tmp / f"{name}.index"


ENTRIES = [
    ("dog", 'dog /dˈɒɡ/\nHund <masc> [zool.]\n      "train a dog"  - einen Hund abrichten\n see: {dogs}\n\n'),
    ("dog", "dog /dˈɒɡ/\nKlampe <fem>, Klemme <fem>, Knagge <fem> [techn.]\n"),
    ("house", "house /hˈaʊs/\nHaus <neut>\n see: {houses}, {open house}\n"),
    ("run", "run /ɹˈʌn/ (ran /ɹˈan/ <>, run /ɹˈʌn/ <>) <v>\nlaufen <v, intr>, schnell laufen\n"),
    ("by and large", "by and large\nim Großen und Ganzen\n"),
    ("cat", "Cat /kæt/\nKatze <fem>; Mieze\n"),
]


def test_read_pairs_keeps_single_words_and_case(tmp_path):
    idx = make_dictd(tmp_path, "freedict-eng-deu", ENTRIES)
    pairs = read_freedict(idx)
    assert pairs == [
        ("dog", "Hund"),
        ("dog", "Klampe"),
        ("dog", "Klemme"),
        ("dog", "Knagge"),
        ("house", "Haus"),
        ("run", "laufen"),
        ("Cat", "Katze"),
        ("Cat", "Mieze"),
    ]
    assert ("cat", "katze") in read_freedict(idx, lowercase=True)
    assert langs_of(idx) == ("en", "de")


def test_convert_writes_disjoint_splits_and_inverts(tmp_path):
    entries = [(f"w{i}", f"w{i} /x/\nu{i}, v{i}\n") for i in range(100)]
    entries = [(k, b.replace(k, "wort" + k[1:], 1)) for k, b in entries]
    idx = make_dictd(tmp_path, "freedict-deu-eng", entries)
    res = convert(idx, tmp_path / "out", n_test=20, n_train=50, seed=1)
    train = (tmp_path / "out" / "de-en.train.txt").read_text(encoding="utf-8").split("\n")[:-1]
    test = (tmp_path / "out" / "de-en.test.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert res["test_sources"] == 20 and res["train_sources"] == 50
    assert len(test) == 40 and len(train) == 100  # 2 translations each
    assert {ln.split()[0] for ln in train}.isdisjoint({ln.split()[0] for ln in test})
    inv = convert(idx, tmp_path / "inv", n_test=10, invert=True)
    assert (inv["src"], inv["tgt"]) == ("en", "de") and Path(inv["test"]).name == "en-de.test.txt"
    with pytest.raises(InputError, match="0 of 200 pairs"):
        convert(idx, tmp_path / "v", src_vocab={"nothing"})


def test_split_by_source_is_deterministic():
    pairs = [(f"s{i}", f"t{j}") for i in range(30) for j in range(2)]
    assert split_by_source(pairs, n_test=5, seed=3) == split_by_source(pairs, n_test=5, seed=3)


def test_bad_dictd_files(tmp_path):
    with pytest.raises(InputError, match="missing dictd file"):
        read_freedict(tmp_path / "freedict-eng-deu.index")
    idx = make_dictd(tmp_path, "freedict-eng-fra", ENTRIES)
    idx.write_text("dog\tAB\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"freedict-eng-fra.index:1: expected"):
        read_freedict(idx)
    proc = subprocess.run(
        [sys.executable, "-m", "mltl.embeddings.freedict", str(idx), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "freedict-eng-fra.index:1" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(
    not Path("/usr/share/dictd/freedict-eng-spa.index").exists(), reason="dict-freedict-eng-spa not installed"
)
def test_real_freedict_command(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mltl.embeddings.freedict",
            "/usr/share/dictd/freedict-eng-spa.index",
            "-o",
            str(tmp_path),
            "--test",
            "500",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    test = (tmp_path / "en-es.test.txt").read_text(encoding="utf-8").splitlines()
    assert len({ln.split()[0] for ln in test}) == 500
