"""`mltl embed`, `mltl align` and `mltl evaluate bli` end to end through the real CLI."""

from __future__ import annotations

import glob
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mltl.embeddings import Vectors, load_vectors, save_vectors
from mltl.embeddings.mapping import random_rotation

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

MAN_EN = sorted(glob.glob("/usr/share/man/man1/*.1.gz"))
FAST = ["--dim", "24", "--min-count", "3", "--epoch", "3", "--bucket", "20000", "--threads", "1"]


def mltl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mltl", *map(str, args)], input=stdin, capture_output=True, text=True, timeout=120
    )


def assert_one_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, exactly one error line on stderr, naming what it should."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def en_vectors(tmp_path_factory) -> Path:
    """Vectors trained by `mltl embed` on real English man pages (roff input)."""
    pytest.importorskip("fasttext")
    if len(MAN_EN) < 60:
        pytest.skip("English man pages (Debian 'manpages') not installed")
    out = tmp_path_factory.mktemp("emb") / "en"
    proc = mltl(
        "embed",
        "--lang",
        "en",
        "--format",
        "roff",
        "--tokenizer",
        "whitespace",
        *FAST,
        "--json",
        "-o",
        out,
        *MAN_EN[:60],
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["tokens"] > 10000 and summary["vocab"] > 500
    return out


def test_embed_writes_bin_and_vec(en_vectors):
    v = load_vectors(str(en_vectors) + ".vec")
    b = load_vectors(str(en_vectors) + ".bin")
    assert v.words == b.words and v.dim == 24
    for w in ("the", "file", "command"):
        assert w in v
    assert not list(en_vectors.parent.glob(".*"))  # no temporary leftovers


def test_embed_seed_is_reproducible_and_matters(tmp_path):
    """Default --threads 1: the same --seed gives identical vectors, another seed other ones."""
    pytest.importorskip("fasttext")
    if len(MAN_EN) < 20:
        pytest.skip("English man pages (Debian 'manpages') not installed")
    vecs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        proc = mltl(
            "embed",
            "--lang",
            "en",
            "--format",
            "roff",
            "--tokenizer",
            "whitespace",
            "--dim",
            "16",
            "--min-count",
            "3",
            "--epoch",
            "2",
            "--bucket",
            "20000",
            "--seed",
            seed,
            "-o",
            tmp_path / name,
            *MAN_EN[:20],
        )
        assert proc.returncode == 0, proc.stderr
        vecs[name] = load_vectors(str(tmp_path / name) + ".vec")
    assert vecs["a"].words == vecs["b"].words == vecs["c"].words
    assert np.array_equal(vecs["a"].matrix, vecs["b"].matrix)
    assert not np.allclose(vecs["a"].matrix, vecs["c"].matrix)


def test_embed_stdin_spacy_and_jsonl(tmp_path):
    pytest.importorskip("fasttext")
    text = Path("/usr/share/common-licenses/GPL-3")
    if not text.exists():
        pytest.skip("no GPL-3 text")
    body = text.read_text(encoding="utf-8")
    proc = mltl(
        "embed",
        "--lang",
        "en",
        "--lowercase",
        "--dim",
        "16",
        "--min-count",
        "3",
        "--epoch",
        "3",
        "--bucket",
        "50000",
        "--threads",
        "1",
        "-o",
        tmp_path / "std",
        "-",
        stdin=body,
    )
    assert proc.returncode == 0, proc.stderr
    words = load_vectors(tmp_path / "std.vec").words
    assert "license" in words and "License" not in words and "." in words  # spaCy split the punctuation
    jl = tmp_path / "unlabeled.jsonl"
    jl.write_text(
        "".join(json.dumps({"tokens": line.split()}) + "\n" for line in body.splitlines() if line.strip()),
        encoding="utf-8",
    )
    proc = mltl(
        "embed",
        "--lang",
        "en",
        "--dim",
        "16",
        "--min-count",
        "3",
        "--bucket",
        "50000",
        "--threads",
        "1",
        "-o",
        tmp_path / "jl",
        jl,
    )
    assert proc.returncode == 0, proc.stderr
    assert "License" in load_vectors(tmp_path / "jl.vec").words  # kept as tokenized


def test_embed_bad_inputs(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("ein kleiner Text\n", encoding="utf-8")
    err = assert_one_error(
        mltl("embed", "--lang", "de", "-o", tmp_path / "out", small), "small.txt", "corpus too small"
    )
    assert "--min-count" in err
    assert not list(tmp_path.glob("out*"))
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_one_error(mltl("embed", "--lang", "de", "-o", tmp_path / "out", empty), "empty.txt", "empty")
    assert_one_error(mltl("embed", "--lang", "xx-nope", "-o", tmp_path / "out", small), "unknown language")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tokens": "not a list"}\n', encoding="utf-8")
    assert_one_error(mltl("embed", "--lang", "de", "-o", tmp_path / "out", bad), "bad.jsonl:1")


def test_embed_encoding(tmp_path):
    """Latin-1 text: a one-line error naming file and line without --encoding, vectors with it."""
    pytest.importorskip("fasttext")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(("Die Datei wird gelesen.\n" * 3 + "Größe der Datei ändern.\n" * 20).encode("latin-1"))
    err = assert_one_error(
        mltl("embed", "--lang", "de", *FAST, "-o", tmp_path / "out", latin), "latin1.txt:4", "not valid utf-8"
    )
    assert "--encoding" in err
    assert not list(tmp_path.glob("out*"))
    proc = mltl("embed", "--lang", "de", *FAST, "--encoding", "latin-1", "--json", "-o", tmp_path / "out", latin)
    assert proc.returncode == 0, proc.stderr
    assert "Größe" in load_vectors(str(tmp_path / "out") + ".vec")


def test_minn_zero_means_no_subwords(tmp_path):
    """--minn 0 is "no subwords" (its help): fastText needs maxn 0 for that, minn 0 alone adds 1-2-grams."""
    from mltl.embeddings.embed_config import EmbedConfig
    from mltl.embeddings.train import fasttext_kwargs

    assert fasttext_kwargs(EmbedConfig(minn=0), "c.txt")["maxn"] == 0
    assert fasttext_kwargs(EmbedConfig(), "c.txt")["maxn"] == 6
    fasttext = pytest.importorskip("fasttext")
    if len(MAN_EN) < 60:
        pytest.skip("English man pages (Debian 'manpages') not installed")
    # (60 pages: fastText without subwords stops with "Encountered NaN" on a corpus of 20)
    args = ["--format", "roff", "--tokenizer", "whitespace", *FAST, "--minn", "0", "-o", tmp_path / "v"]
    proc = mltl("embed", "--lang", "en", *args, *MAN_EN[:60])
    assert proc.returncode == 0, proc.stderr
    assert fasttext.load_model(str(tmp_path / "v.bin")).get_subwords("file")[0] == ["file"]


HTML_PAGE = """<!DOCTYPE html>
<html lang="de"><head><title>Dateien kopieren</title>
<style>.absatz { farbe: rot; }</style>
<script type="text/javascript">var skriptvariable = "Skriptwert";</script></head>
<body><nav>Navigationsleiste</nav><h1 id="kopf">Dateien kopieren</h1>
<p class="absatz">Der Befehl kopiert die <a href="x.html">Datei</a> in den Ordner.<br>Die Datei bleibt
erhalten &amp; der Ordner w&auml;chst.</p>
<ul><li>Eine Datei</li><li>Ein Ordner</li></ul>
<footer>Fußzeilenhinweis</footer></body></html>
"""


def test_embed_html(tmp_path):
    """HTML pages (auto-detected by suffix, or --format html): the text is embedded, tag names,
    attributes, script/style content and nav/footer chrome are not; a line break or block
    element ends a sentence."""
    pytest.importorskip("fasttext")
    page = tmp_path / "seite.html"
    page.write_text(HTML_PAGE * 4, encoding="utf-8")
    from mltl.embeddings.train import iter_sentences

    sents = list(iter_sentences([str(page)], "de", "whitespace"))
    assert sents[:6] == [
        ["Dateien", "kopieren"],
        ["Dateien", "kopieren"],
        ["Der", "Befehl", "kopiert", "die", "Datei", "in", "den", "Ordner."],
        ["Die", "Datei", "bleibt", "erhalten", "&", "der", "Ordner", "wächst."],
        ["Eine", "Datei"],
        ["Ein", "Ordner"],
    ]
    # the same page as .htm, gzipped, and with --format html under another name: one corpus
    gz = tmp_path / "seite2.htm.gz"
    gz.write_bytes(gzip.compress(page.read_bytes()))
    plain = tmp_path / "seite3.txt"
    plain.write_text(HTML_PAGE * 4, encoding="utf-8")
    proc = mltl(
        "embed", "--lang", "de", "--lowercase", *FAST, "--min-count", "2", "--json", "-o", tmp_path / "a", page, gz
    )
    assert proc.returncode == 0, proc.stderr
    words = set(load_vectors(tmp_path / "a.vec").words)
    assert {"dateien", "kopieren", "befehl", "ordner", "datei", "wächst"} <= words
    leaked = {"html", "head", "body", "title", "style", "script", "href", "class", "absatz", "var"}
    leaked |= {"skriptvariable", "skriptwert", "farbe", "rot", "navigationsleiste", "fußzeilenhinweis", "amp", "auml"}
    assert not leaked & {w.strip('<>/=";.{}') for w in words}, leaked & words
    proc = mltl(
        "embed", "--lang", "de", "--format", "html", *FAST, "--min-count", "2", "--json", "-o", tmp_path / "b", plain
    )
    assert proc.returncode == 0, proc.stderr
    assert "Befehl" in load_vectors(tmp_path / "b.vec") and "<p" not in load_vectors(tmp_path / "b.vec")
    # invalid UTF-8 in a page: the one-line error names the file and line
    bad = tmp_path / "latin.html"
    bad.write_bytes(("<p>Gr\u00f6\u00dfe</p>\n" * 3).encode("latin-1"))
    assert_one_error(mltl("embed", "--lang", "de", *FAST, "-o", tmp_path / "c", bad), "latin.html:1", "not valid utf-8")


@pytest.fixture(scope="module")
def pair(en_vectors, tmp_path_factory) -> tuple[Path, Path, Path]:
    """en.vec (real) and de.vec: a rotated copy with a few renamed words, plus a dictionary."""
    d = tmp_path_factory.mktemp("pair")
    en = load_vectors(str(en_vectors) + ".vec")
    save_vectors(en, d / "en.vec")
    R = random_rotation(en.dim, 9)
    words = [w if i % 3 else f"{w}_de" for i, w in enumerate(en.words)]  # 1/3 not identical
    save_vectors(Vectors(words, np.asarray(en.matrix) @ R), d / "de.vec")
    (d / "de-en.test.txt").write_text(
        "".join(f"{w} {e}\n" for w, e in zip(words[::3][:300], en.words[::3][:300])), encoding="utf-8"
    )
    return d / "en.vec", d / "de.vec", d / "de-en.test.txt"


def test_align_identical_then_evaluate_bli(pair, tmp_path):
    en, de, dic = pair
    out = tmp_path / "aligned"
    proc = mltl("align", "--hub", "en", en, de, "--method", "identical", "--eval-dict", dic, "-o", out)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads((out / "alignment.json").read_text(encoding="utf-8"))
    p = rep["pairs"][0]
    assert rep["hub"] == "en" and p["src"] == "de" and p["method"] == "identical"
    assert p["orthogonality_error"] < 1e-4 and p["iterations"] >= 1 and p["seconds"] > 0
    assert len(p["objective"]) == len(p["dictionary_sizes"]) == p["iterations"]
    assert rep["bli"]["de"]["csls"]["p@1"] > 95
    assert (out / "mappings" / "de-en.npy").exists()
    proc = mltl(
        "evaluate", "bli", "--src", "de", "--tgt", "en", out / "de.vec", out / "en.vec", "--dict", dic, "--json"
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["queries"] == 300 and res["coverage"] == 100.0
    assert res["nn"]["p@1"] > 95 and res["csls"]["p@10"] >= res["csls"]["p@1"]
    table = mltl("evaluate", "bli", out / "de.vec", out / "en.vec", "--dict", dic)
    assert table.returncode == 0 and "CSLS" in table.stdout and "coverage" in table.stdout


def test_align_supervised_and_unsupervised_cli(pair, tmp_path):
    en, de, dic = pair
    proc = mltl("align", en, de, "--method", "supervised", "--dict", dic, "--out-format", "npy", "-o", tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    a, b = load_vectors(tmp_path / "s" / "de.npy"), load_vectors(tmp_path / "s" / "en.npy")
    assert np.mean(np.argmax(a.matrix[:500] @ b.matrix.T, axis=1) == np.arange(500)) > 0.95
    proc = mltl("align", en, de, "--max-vocab", "1500", "--refine-vocab", "1500", "-o", tmp_path / "u", "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["method"] == "unsupervised" and rep["pairs"][0]["stochastic_keep_prob"][0] == 0.1
    a, b = load_vectors(tmp_path / "u" / "de.vec"), load_vectors(tmp_path / "u" / "en.vec")
    assert np.mean(np.argmax(a.matrix[:500] @ b.matrix.T, axis=1) == np.arange(500)) > 0.9


def test_align_and_bli_bad_inputs(pair, tmp_path):
    en, de, dic = pair
    out = tmp_path / "out"
    ragged = tmp_path / "fr.vec"
    ragged.write_text("2 3\na 1 2 3\nb 1 2\n", encoding="utf-8")
    assert_one_error(mltl("align", en, ragged, "-o", out), "fr.vec:3", "dimension 3")
    header = tmp_path / "es.vec"
    header.write_text("2 4\na 1 2 3\nb 1 2 3\n", encoding="utf-8")
    assert_one_error(mltl("align", en, header, "-o", out), "es.vec:2", "header says dimension 4")
    small_dim = tmp_path / "it.vec"
    small_dim.write_text("a 1 2 3\nb 1 2 3\n", encoding="utf-8")
    assert_one_error(mltl("align", en, small_dim, "-o", out), "it.vec", "dimension 3 differs")
    assert_one_error(mltl("align", en, de, "--method", "magic", "-o", out), "unknown alignment method")
    assert_one_error(mltl("align", de, small_dim, "-o", out), "hub language 'en' is not among the inputs")
    nodict = tmp_path / "none.txt"
    nodict.write_text("zzz yyy\nqqq ppp\n", encoding="utf-8")
    assert_one_error(
        mltl("align", en, de, "--method", "supervised", "--dict", nodict, "-o", out), "none.txt", "0 of 2 pairs"
    )
    assert_one_error(mltl("evaluate", "bli", de, en, "--dict", nodict), "none.txt", "0 of 2 dictionary pairs")
    assert_one_error(mltl("evaluate", "bli", de, en), "needs --dict")
    assert_one_error(mltl("evaluate", "test.conll"), "--model")
    assert not out.exists()  # nothing half-written after any failure
    out.mkdir()
    assert_one_error(mltl("align", en, de, "--method", "identical", "-o", out), "exists", "--force")
