"""`mltl prepare` through the real CLI: outputs, meta.json, and every bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, assert_one_line_error, run_cli

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

TRAIN = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n. O\n\nPeter B-PER\nBlackburn I-PER\n\n"
DEV = "BRUSSELS B-LOC\n1996-08-22 O\n"
TEST = "Germany B-LOC\n's O\nrepresentative O\n"


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_tagging_three_files_and_unlabeled_text(tmp_path):
    for name, text in (("train.txt", TRAIN), ("dev.txt", DEV), ("test.txt", TEST)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "raw.txt").write_text("The EU met today. It rained in Brussels!\n\nSecond line here.\n")
    out = tmp_path / "data" / "en"
    proc = run_cli(
        "prepare",
        "--task",
        "tagging",
        "--lang",
        "en",
        "train.txt",
        "dev.txt",
        "test.txt",
        "--unlabeled-text",
        "raw.txt",
        "-o",
        out,
        cwd=tmp_path,
        check=True,
    )
    assert "train.jsonl" in proc.stdout and "PER 1" in proc.stdout
    assert lines(out / "train.jsonl")[1] == {"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"]}
    assert lines(out / "dev.jsonl") == [{"tokens": ["BRUSSELS", "1996-08-22"], "tags": ["B-LOC", "O"]}]
    assert [r["tokens"] for r in lines(out / "unlabeled.jsonl")] == [
        ["The", "EU", "met", "today", "."],
        ["It", "rained", "in", "Brussels", "!"],
        ["Second", "line", "here", "."],
    ]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["scheme"] == "bio" and meta["entity_types"] == ["LOC", "MISC", "ORG", "PER"]
    assert meta["splits"]["train"] == {"items": 2, "tokens": 7, "labels": {"MISC": 1, "ORG": 1, "PER": 1}}
    assert meta["splits"]["unlabeled"]["items"] == 3
    roles = {s["role"] for s in meta["sources"]}
    assert roles == {"train", "dev", "test", "unlabeled"}
    assert all(len(s["sha256"]) == 64 for s in meta["sources"])
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_bioes_input_is_converted_to_bio(tmp_path):
    (tmp_path / "t.txt").write_text("New B-LOC\nYork E-LOC\nis O\nbig O\n\nObama S-PER\n")
    run_cli("prepare", "--lang", "en", "t.txt", "-o", "out", cwd=tmp_path, check=True)
    assert [r["tags"] for r in lines(tmp_path / "out" / "train.jsonl")] == [["B-LOC", "I-LOC", "O", "O"], ["B-PER"]]
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["source_scheme"] == "bioes"


def test_invalid_bio_is_reported_then_repaired(tmp_path):
    (tmp_path / "t.txt").write_text("Ana B-PER\nvive O\nen O\nNueva I-LOC\nYork I-LOC\n")
    proc = run_cli("prepare", "--lang", "es", "t.txt", "-o", "out", cwd=tmp_path)
    assert_one_line_error(proc, "t.txt:4", "I-LOC after O", "--repair")
    assert not (tmp_path / "out").exists()
    run_cli("prepare", "--lang", "es", "t.txt", "-o", "out", "--repair", cwd=tmp_path, check=True)
    assert lines(tmp_path / "out" / "train.jsonl")[0]["tags"] == ["B-PER", "O", "O", "B-LOC", "I-LOC"]
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["problems_repaired"] == 1


def test_classification_split_is_seeded_and_complete(tmp_path):
    rows = [f"{['sports', 'business', 'science'][i % 3]}\tDocument number {i} is here." for i in range(50)]
    (tmp_path / "c.tsv").write_text("\n".join(rows) + "\n")
    for out in ("a", "b"):
        run_cli(
            "prepare",
            "--task",
            "classification",
            "--lang",
            "fr",
            "c.tsv",
            "--split",
            "80/10/10",
            "--seed",
            "3",
            "-o",
            out,
            cwd=tmp_path,
            check=True,
        )
    a = {s: lines(tmp_path / "a" / f"{s}.jsonl") for s in ("train", "dev", "test")}
    assert [len(v) for v in a.values()] == [40, 5, 5]
    assert a == {s: lines(tmp_path / "b" / f"{s}.jsonl") for s in ("train", "dev", "test")}
    texts = sorted(r["text"] for v in a.values() for r in v)
    assert texts == sorted(r.split("\t")[1] for r in rows)
    assert a["train"][0]["tokens"][:2] == ["Document", "number"]


def test_conllu_misc_ner(tmp_path):
    (tmp_path / "x.conllu").write_text(
        "# text = Berlin ruft\n1\tBerlin\t_\tPROPN\t_\t_\t0\troot\t_\tNER=B-LOC\n"
        "2\truft\t_\tVERB\t_\t_\t1\tx\t_\tNER=O\n\n"
    )
    run_cli(
        "prepare",
        "--lang",
        "de",
        "--format",
        "conllu",
        "--tag-field",
        "misc:NER",
        "x.conllu",
        "-o",
        "o",
        cwd=tmp_path,
        check=True,
    )
    assert lines(tmp_path / "o" / "train.jsonl") == [{"tokens": ["Berlin", "ruft"], "tags": ["B-LOC", "O"]}]


def test_unlabeled_from_stdin_and_chinese_words(tmp_path):
    run_cli(
        "prepare",
        "--task",
        "unlabeled",
        "--lang",
        "zh",
        "-",
        "-o",
        "zh",
        cwd=tmp_path,
        check=True,
        input="我爱北京天安门。今天天气很好！\n",
    )
    sents = [r["tokens"] for r in lines(tmp_path / "zh" / "unlabeled.jsonl")]
    assert sents[0] == ["我", "爱", "北京", "天安门", "。"] and len(sents) == 2


def test_unlabeled_japanese_with_trained_sentencepiece(tmp_path):
    text = "\n".join(
        [
            "東京は日本の首都です。大阪は大きな都市です。",
            "私は毎日電車で会社に行きます。",
            "京都には古い寺がたくさんあります。",
        ]
        * 30
    )
    (tmp_path / "ja.txt").write_text(text + "\n", encoding="utf-8")
    run_cli(
        "prepare",
        "--task",
        "unlabeled",
        "--lang",
        "ja",
        "--tokenizer",
        "sentencepiece",
        "--sp-vocab-size",
        "200",
        "ja.txt",
        "-o",
        "ja",
        cwd=tmp_path,
        check=True,
    )
    meta = json.loads((tmp_path / "ja" / "meta.json").read_text())
    assert meta["tokenizer"] == {"kind": "sentencepiece", "sp_model": "sp.model"}
    assert (tmp_path / "ja" / "sp.model").is_file()
    first = lines(tmp_path / "ja" / "unlabeled.jsonl")[0]["tokens"]
    assert "".join(first) == "東京は日本の首都です。" and len(first) > 1


def test_japanese_spacy_without_sudachi_says_what_to_install(tmp_path):
    (tmp_path / "ja.txt").write_text("東京は日本の首都です。\n")
    # the CLI in a process where sudachipy cannot be found, installed here or not
    hide = (
        "import sys, runpy; sys.modules['sudachipy'] = None; "
        "sys.argv = ['mltl', 'prepare', '--task', 'unlabeled', '--lang', 'ja', 'ja.txt', '-o', 'ja']; "
        "runpy.run_module('mltl', run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", hide], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert_one_line_error(proc, "sudachipy", "--tokenizer sentencepiece")
    assert not (tmp_path / "ja").exists()


MAN_PAGE = r""".\" Copyright (c) 2024 Somebody
.TH LS 1 2024 "GNU" "Benutzerbefehle"
.SH BEZEICHNUNG
ls \- Verzeichnisinhalte auflisten
.SH BESCHREIBUNG
Auflistung von Informationen über die \fIDATEI\fPen (Standardvorgabe ist das
aktuelle Verzeichnis). Die Einträge werden alphabetisch sortiert.
.PP
Mit
.B \-l
wird das lange Format verwendet.
.nf
ls -l /tmp
.fi
.SH COPYRIGHT
Copyright \(co 2024 Free Software Foundation.
"""


def test_roff_man_page_to_unlabeled(tmp_path):
    (tmp_path / "ls.1").write_text(MAN_PAGE, encoding="utf-8")
    run_cli(
        "prepare",
        "--task",
        "unlabeled",
        "--lang",
        "de",
        "--format",
        "roff",
        "ls.1",
        "-o",
        "de",
        cwd=tmp_path,
        check=True,
    )
    text = [" ".join(r["tokens"]) for r in lines(tmp_path / "de" / "unlabeled.jsonl")]
    assert text[0] == "ls - Verzeichnisinhalte auflisten"
    assert "Auflistung von Informationen über die DATEIen" in text[1]
    assert any(t.startswith("Mit -l wird das lange Format verwendet") for t in text)
    assert not any("/tmp" in t or "Copyright" in t for t in text)


def test_html_page_to_unlabeled(tmp_path):
    """--format html: the page's text, one line per block element; no script, style or tags."""
    page = (
        "<html><head><title>Dateien kopieren</title><script>var geheim = 1;</script>"
        "<style>p { farbe: rot }</style></head><body><h1>Kopieren</h1>"
        '<p class="x">Der Befehl kopiert die <a href="a.html">Datei</a>.<br/>Der Ordner w&auml;chst.</p>'
        "<footer>Fußzeile</footer></body></html>\n"
    )
    (tmp_path / "seite.html").write_text(page, encoding="utf-8")
    run_cli(
        "prepare",
        "--task",
        "unlabeled",
        "--lang",
        "de",
        "--format",
        "html",
        "seite.html",
        "-o",
        "de",
        cwd=tmp_path,
        check=True,
    )
    assert [r["tokens"] for r in lines(tmp_path / "de" / "unlabeled.jsonl")] == [
        ["Dateien", "kopieren"],
        ["Kopieren"],
        ["Der", "Befehl", "kopiert", "die", "Datei", "."],
        ["Der", "Ordner", "wächst", "."],
    ]


@pytest.mark.parametrize(
    "name,content,args,fragments",
    [
        ("empty.txt", b"", [], ["empty.txt", "file is empty"]),
        ("latin.txt", "Stra\xdfe O\n".encode("latin-1"), [], ["latin.txt:1", "byte offset 4", "--encoding"]),
        ("cols.txt", b"a O\nb c O\n", [], ["cols.txt:2", "expected 2 columns"]),
        # a tab line among space lines splits on the tab: its tag would be "O extra"
        ("mixed.txt", b"Juan B-PER\nvive\tO extra\nen O\n", [], ["mixed.txt:2", "'O extra' contains a space"]),
        # one stray tag in an entity file must not turn every tag into a plain label
        (
            "stray.txt",
            b"Juan B-PER\nvive O\n\nAna B-PER\nen X-FOO\nMadrid B-LOC\n",
            [],
            ["stray.txt:5", "X-FOO", "BIO"],
        ),
        ("ok.txt", b"a O\n", ["--format", "xml"], ["unknown format 'xml'", "conll2002"]),
        ("ok.txt", b"a O\n", ["--scheme", "bilo"], ["unknown tag scheme 'bilo'", "bioes"]),
        ("ok.txt", b"a O\n", ["--split", "80/30"], ["sums to 110"]),
    ],
)
def test_bad_input_one_line_no_output(tmp_path, name, content, args, fragments):
    (tmp_path / name).write_bytes(content)
    proc = run_cli("prepare", "--lang", "en", name, "-o", "out", *args, cwd=tmp_path)
    assert_one_line_error(proc, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_unknown_language_lists_supported(tmp_path):
    (tmp_path / "a.txt").write_text("a O\n")
    proc = run_cli("prepare", "--lang", "klingon", "a.txt", "-o", "out", cwd=tmp_path)
    assert_one_line_error(proc, "unknown language code 'klingon'", "de, dsb, el, en, es")
    assert not (tmp_path / "out").exists()


def test_language_without_spacy_rules_uses_multilanguage_tokenizer(tmp_path):
    # SIB-200's Swahili: spaCy has no "sw" rules; any ISO 639-1 code is a language mltl can
    # prepare, tokenized by spaCy's multi-language rules (punctuation split off). A code
    # outside ISO 639-1 is still a typo.
    (tmp_path / "train.tsv").write_text('label\ttext\nsiasa\tRais alisema, "Habari!"\n', encoding="utf-8")
    run_cli(
        "prepare",
        "--task",
        "classification",
        "--lang",
        "sw",
        "--header",
        "train.tsv",
        "-o",
        "out",
        cwd=tmp_path,
        check=True,
    )
    doc = json.loads((tmp_path / "out" / "train.jsonl").read_text(encoding="utf-8"))
    assert doc["tokens"] == ["Rais", "alisema", ",", '"', "Habari", "!", '"'] and doc["label"] == "siasa"
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["language"] == "sw"
    proc = run_cli("prepare", "--task", "classification", "--lang", "qq", "train.tsv", "-o", "o2", cwd=tmp_path)
    assert_one_line_error(proc, "unknown language code 'qq'", "any other ISO 639-1 code")


def test_existing_output_needs_force(tmp_path):
    (tmp_path / "a.txt").write_text("a O\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    assert_one_line_error(
        run_cli("prepare", "--lang", "en", "a.txt", "-o", "out", cwd=tmp_path), "out", "exists", "--force"
    )
    assert (tmp_path / "out" / "keep.txt").exists()
    run_cli("prepare", "--lang", "en", "a.txt", "-o", "out", "--force", cwd=tmp_path, check=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["meta.json", "train.jsonl"]


@pytest.mark.skipif(not (EXAMPLES / "ner").is_dir(), reason="example data not present")
def test_every_shipped_example_prepares(tmp_path):
    # The shipped examples stay usable: every file reads, every split is filled, the labels are the
    # ones the examples promise (CoNLL types; the classification topics), nothing is dropped.
    # In-process through the Python API `mltl prepare` calls (15 datasets; the CLI face of the same
    # function is tested above), so spaCy loads once instead of 15 times.
    from mltl.data.prepare import prepare

    for lang_dir in sorted((EXAMPLES / "ner").iterdir()):
        files = [str(lang_dir / f"{s}.txt") for s in ("train", "dev", "test")]
        m = prepare(files, tmp_path / "ner" / lang_dir.name, task="tagging", lang=lang_dir.name)
        assert set(m["splits"]) == {"train", "dev", "test"} and all(st["items"] > 0 for st in m["splits"].values())
        assert set(m["entity_types"]) <= {"PER", "LOC", "ORG", "MISC"} and {"PER", "LOC"} <= set(m["entity_types"])
        sentences = sum(Path(f).read_text(encoding="utf-8").count("\n\n") for f in files)
        assert abs(sum(st["items"] for st in m["splits"].values()) - sentences) <= 3, lang_dir.name
        assert json.loads((tmp_path / "ner" / lang_dir.name / "meta.json").read_text(encoding="utf-8")) == m
    for tsv in sorted((EXAMPLES / "cls").glob("*.tsv")):
        m = prepare([str(tsv)], tmp_path / "cls" / tsv.stem, task="classification", lang=tsv.stem, split="80/10/10")
        rows = [ln for ln in tsv.read_text(encoding="utf-8").splitlines() if ln.strip()]
        assert sum(st["items"] for st in m["splits"].values()) == len(rows)
        assert set(m["labels"]) == {ln.split("\t")[0] for ln in rows}
    for raw in sorted((EXAMPLES / "unlabeled").glob("*.txt")):
        m = prepare([str(raw)], tmp_path / "raw" / raw.stem, task="unlabeled", lang=raw.stem)
        lines = [ln for ln in raw.read_text(encoding="utf-8").splitlines() if ln.strip()]
        assert m["splits"]["unlabeled"]["items"] >= len(lines) * 0.9, raw.stem


def test_prepare_never_loads_torch(tmp_path):
    # spaCy's thinc imports torch when it can: 3 s of every `mltl prepare`, for nothing.
    import subprocess
    import sys

    raw, out = str(EXAMPLES / "unlabeled" / "de.txt"), str(tmp_path / "de")
    argv = ["-q", "prepare", "--task", "unlabeled", "--lang", "de", raw, "-o", out]
    code = (
        f"import sys\nfrom mltl.cli import main\ntry:\n    main({argv!r})\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "print('torch' in sys.modules, 'spacy' in sys.modules)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.split() == ["False", "True"], p.stderr
    assert (tmp_path / "de" / "unlabeled.jsonl").stat().st_size > 0
