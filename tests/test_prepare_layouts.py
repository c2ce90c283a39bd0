"""`mltl prepare` on the layouts of real gold sets (issues 17, 24), each a small hand-written
file of the same shape, through the real CLI: comment lines, `#` tokens, empty columns,
IOB1 with a POS column, -DOCSTART-, WikiANN prefixes, GermEval-style nested types folded
with --label-map, MARC's header-less CSV with star labels, SIB-200's TSV table."""

import json
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_cli


def records(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


UD_NER = (
    "# sent_id = n01001-0001\n# text = Anna wohnt in Köln.\n"
    "1\tAnna\tB-PER\t-\t-\n2\twohnt\tO\t-\t-\n3\tin\tO\t-\t-\n4\tKöln\tB-LOC\t-\t-\n5\t.\tO\t-\t-\n\n"
    "# sent_id = n01001-0002\n# newpar\n# text = #nrw ist schön\n"
    "1\t#nrw\tO\t_\t_\n2\tist\tO\t_\t_\n3\tschön\tO\t_\t_\n"
)


def test_ud_derived_ner_with_comment_lines(tmp_path):
    (tmp_path / "de-test.iob2").write_text(UD_NER, encoding="utf-8")
    run_cli(
        "prepare",
        "--task",
        "tagging",
        "--lang",
        "de",
        "--format",
        "conll",
        "--token-col",
        "1",
        "--tag-col",
        "2",
        "de-test.iob2",
        "-o",
        "out",
        cwd=tmp_path,
        check=True,
    )
    recs = records(tmp_path / "out" / "train.jsonl")
    assert recs == [
        {
            "tokens": ["Anna", "wohnt", "in", "Köln", "."],
            "tags": ["B-PER", "O", "O", "B-LOC", "O"],
            "text": "Anna wohnt in Köln.",
        },
        {"tokens": ["#nrw", "ist", "schön"], "tags": ["O", "O", "O"], "text": "#nrw ist schön"},
    ]


@pytest.mark.parametrize(
    "body, tokens",
    [
        # a "#" token line has the file's column count: a token, first in its sentence or not
        ("#\tO\nhallo\tO\n\nja\tO\n#\tO\n", [["#", "hallo"], ["ja", "#"]]),
        ("# O\nhallo O\n\nja O\n# O\n", [["#", "hallo"], ["ja", "#"]]),
        # a comment has another shape (column count or separator) and is skipped
        ("# a comment with words\nhallo O\n\n# x\tO\tz\nja O\n", [["hallo"], ["ja"]]),
        ("# nur ein Kommentar\nhallo\tO\n#\tO\n", [["hallo", "#"]]),
    ],
)
def test_hash_token_or_comment_by_shape(tmp_path, body, tokens):
    (tmp_path / "t.txt").write_text(body, encoding="utf-8")
    run_cli("prepare", "--lang", "de", "--format", "conll", "t.txt", "-o", "out", cwd=tmp_path, check=True)
    assert [r["tokens"] for r in records(tmp_path / "out" / "train.jsonl")] == tokens


def test_trailing_empty_tab_columns_keep_the_count(tmp_path):
    # "1\tFoo\tO\t\t": the empty columns are columns, as "-" and "_" are
    (tmp_path / "t.tsv").write_text("1\tAnna\tB-PER\t\t\n2\tlacht\tO\t_\t-\n", encoding="utf-8")
    run_cli(
        "prepare",
        "--lang",
        "de",
        "--format",
        "conll",
        "--token-col",
        "1",
        "--tag-col",
        "2",
        "t.tsv",
        "-o",
        "out",
        cwd=tmp_path,
        check=True,
    )
    assert records(tmp_path / "out" / "train.jsonl") == [{"tokens": ["Anna", "lacht"], "tags": ["B-PER", "O"]}]


GERMEVAL = (
    "# http://de.wikipedia.org/wiki/X [2009-10-17]\n"
    "1\tDie\tO\tO\n2\tdeutsche\tB-LOCderiv\tO\n3\tBank\tO\tO\n4\tin\tO\tO\n"
    "5\tNordrhein-Westfalen\tB-LOC\tO\n6\tund\tO\tO\n7\tKölner\tB-LOCderiv\tO\n"
    "8\tFirmen\tO\tO\n9\tEU-Staaten\tB-LOCpart\tB-ORG\n10\tAG\tI-ORGpart\tO\n"
)


def test_germeval_columns_and_type_folding(tmp_path):
    (tmp_path / "g.tsv").write_text(GERMEVAL, encoding="utf-8")
    run_cli(
        "prepare",
        "--lang",
        "de",
        "--format",
        "conll",
        "--token-col",
        "1",
        "--tag-col",
        "2",
        "g.tsv",
        "--label-map",
        "LOCderiv=O,ORGderiv=O",
        "--label-map",
        "LOCpart=LOC,ORGpart=ORG",
        "--repair",
        "-o",
        "outer",
        cwd=tmp_path,
        check=True,
    )
    tags = records(tmp_path / "outer" / "train.jsonl")[0]["tags"]
    assert tags == ["O", "O", "O", "O", "B-LOC", "O", "O", "O", "B-LOC", "B-ORG"]
    meta = json.loads((tmp_path / "outer" / "meta.json").read_text())
    assert meta["entity_types"] == ["LOC", "ORG"] and meta["label_map"]["LOCpart"] == "LOC"
    # the inner column (--tag-col 3), unmapped
    run_cli(
        "prepare",
        "--lang",
        "de",
        "--format",
        "conll",
        "--token-col",
        "1",
        "--tag-col",
        "3",
        "g.tsv",
        "-o",
        "inner",
        cwd=tmp_path,
        check=True,
    )
    assert records(tmp_path / "inner" / "train.jsonl")[0]["tags"][8] == "B-ORG"


def test_tagging_label_map_cannot_drop(tmp_path):
    (tmp_path / "t.txt").write_text("Anna B-PER\n", encoding="utf-8")
    proc = run_cli("prepare", "--lang", "de", "t.txt", "--label-map", "PER=", "-o", "out", cwd=tmp_path)
    assert_one_line_error(proc, "PER=", "PER=O")
    assert not (tmp_path / "out").exists()


CONLL03_IOB1 = (
    "-DOCSTART- -X- -X- O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\n"
    "call NN I-NP O\n\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
    "Hans NNP I-NP I-PER\nPeter NNP I-NP B-PER\n\n"
    # a stray B- after O, as eng.train has two: the majority of I- starts still says IOB1
    "in IN I-PP O\nParis NNP I-NP B-LOC\n"
)


def test_conll2003_iob1_pos_columns_docstart(tmp_path):
    (tmp_path / "eng.train").write_text(CONLL03_IOB1, encoding="utf-8")
    run_cli("prepare", "--lang", "en", "--format", "conll2003", "eng.train", "-o", "out", cwd=tmp_path, check=True)
    recs = records(tmp_path / "out" / "train.jsonl")
    assert [r["tags"] for r in recs] == [
        ["B-ORG", "O", "B-MISC", "O"],
        ["B-PER", "I-PER"],
        ["B-PER", "B-PER"],
        ["O", "B-LOC"],
    ]
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["source_scheme"] == "iob1"


def test_conll2002_pos_column_in_the_middle(tmp_path):
    # esp.train's layout: token POS tag; the tag is the last column
    (tmp_path / "esp.train").write_text(
        "-DOCSTART- -DOCSTART- O\nMelbourne NP B-LOC\n( Fpa O\nEFE NC B-ORG\n", encoding="utf-8"
    )
    run_cli("prepare", "--lang", "es", "--format", "conll", "esp.train", "-o", "out", cwd=tmp_path, check=True)
    assert records(tmp_path / "out" / "train.jsonl") == [
        {"tokens": ["Melbourne", "(", "EFE"], "tags": ["B-LOC", "O", "B-ORG"]}
    ]


def test_wikiann_language_prefix(tmp_path):
    (tmp_path / "train").write_text(
        "de:als\tO\nde:Teil\tO\nde:Savoyer\tB-LOC\nde:Voralpen\tI-LOC\nde::\tO\n", encoding="utf-8"
    )
    run_cli("prepare", "--lang", "de", "train", "--token-prefix", "de:", "-o", "out", cwd=tmp_path, check=True)
    assert records(tmp_path / "out" / "train.jsonl")[0]["tokens"] == ["als", "Teil", "Savoyer", "Voralpen", ":"]


MARC = (
    '55508,"Leider, zu schnell kaputt.",2\n72978,Geht so,3\n'
    '43638,"Super ""Qualität"", gerne wieder",5\n1,Schrott,1\n2,Gut,4\n'
)


def test_marc_csv_without_header_and_star_labels(tmp_path):
    (tmp_path / "train.csv").write_text(MARC, encoding="utf-8")
    proc = run_cli(
        "prepare",
        "--task",
        "classification",
        "--lang",
        "de",
        "--format",
        "csv",
        "--no-header",
        "--text-field",
        "1",
        "--label-field",
        "2",
        "--label-map",
        "1=negative,2=negative,3=",
        "--label-map",
        "4=positive,5=positive",
        "train.csv",
        "-o",
        "out",
        cwd=tmp_path,
        check=True,
    )
    recs = records(tmp_path / "out" / "train.jsonl")
    assert [(r["text"], r["label"]) for r in recs] == [
        ("Leider, zu schnell kaputt.", "negative"),
        ('Super "Qualität", gerne wieder', "positive"),
        ("Schrott", "negative"),
        ("Gut", "positive"),
    ]
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["labels"] == ["negative", "positive"] and meta["dropped_by_label_map"] == 1
    assert "1 documents dropped" in proc.stdout


def test_csv_without_header_needs_column_numbers(tmp_path):
    (tmp_path / "train.csv").write_text(MARC, encoding="utf-8")
    proc = run_cli(
        "prepare",
        "--task",
        "classification",
        "--lang",
        "de",
        "--format",
        "csv",
        "--no-header",
        "train.csv",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert_one_line_error(proc, "train.csv", "without a header", "--text-field")


SIB = (
    "index_id\tcategory\ttext\n431\tgeography\tDie Türkei ist auf drei Seiten von Meeren umgeben.\n"
    '403\tscience/technology\tZu Beginn des Krieges fuhren sie "oben".\n'
)


def test_sib200_tsv_table_with_header(tmp_path):
    (tmp_path / "train.tsv").write_text(SIB, encoding="utf-8")
    run_cli(
        "prepare",
        "--task",
        "classification",
        "--lang",
        "de",
        "--header",
        "--label-field",
        "category",
        "train.tsv",
        "-o",
        "out",
        cwd=tmp_path,
        check=True,
    )
    recs = records(tmp_path / "out" / "train.jsonl")
    assert [r["label"] for r in recs] == ["geography", "science/technology"]
    assert recs[1]["text"] == 'Zu Beginn des Krieges fuhren sie "oben".'


def test_tsv_label_text_with_a_third_column_is_an_error(tmp_path):
    (tmp_path / "t.tsv").write_text("pos\tgut\n a\tb\tc\n", encoding="utf-8")
    proc = run_cli("prepare", "--task", "classification", "--lang", "de", "t.tsv", "-o", "out", cwd=tmp_path)
    assert_one_line_error(proc, "t.tsv:2", "3 columns", "--header")
    assert not (tmp_path / "out").exists()


def test_schemes_detected_per_file(tmp_path):
    # German as a source: Europarl train in IOB1 (tab, 5 columns), CoNLL-2003 dev in BIO
    (tmp_path / "train.tsv").write_text(
        "Frau\tFrau\tNN\tI-NC\tO\nMerkel\tMerkel\tNE\tI-NC\tI-PER\nBerlin\tBerlin\tNE\tI-NC\tI-LOC\n", encoding="utf-8"
    )
    (tmp_path / "deu.testa").write_text(
        "Großer Große NN B-NC O\nKöln Köln NE I-NC B-LOC\nBonn Bonn NE I-NC B-LOC\n", encoding="utf-8"
    )
    run_cli(
        "prepare", "--lang", "de", "--format", "conll", "train.tsv", "deu.testa", "-o", "out", cwd=tmp_path, check=True
    )
    assert records(tmp_path / "out" / "train.jsonl")[0]["tags"] == ["O", "B-PER", "B-LOC"]
    assert records(tmp_path / "out" / "dev.jsonl")[0]["tags"] == ["O", "B-LOC", "B-LOC"]
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["source_scheme"] == "iob1+bio"
