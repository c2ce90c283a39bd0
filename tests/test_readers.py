import io
import json

import pytest

from mltl.data.classify import read_classification
from mltl.data.conll import read_conll, write_conll
from mltl.data.conllu_io import read_conllu
from mltl.data.jsonl import read_jsonl, write_jsonl
from mltl.errors import InputError
from mltl.files import iter_lines


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8", newline="")
    return p


def test_conll2002_crlf_trailing_blanks_and_tabs(tmp_path):
    p = write(tmp_path, "a.txt", "La O\r\nCoruña B-LOC  \r\n\r\nSan\tB-LOC\nJosé\tI-LOC\n\n\n")
    sents = list(read_conll(p, "conll2002"))
    assert [s.tokens for s in sents] == [["La", "Coruña"], ["San", "José"]]
    assert [s.tags for s in sents] == [["O", "B-LOC"], ["B-LOC", "I-LOC"]]
    assert sents[1].lines == [4, 5]


def test_conll2003_docstart_and_columns(tmp_path):
    p = write(
        tmp_path,
        "b.txt",
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\n",
    )
    sents = list(read_conll(p, "conll2003"))
    assert [s.tags for s in sents] == [["B-ORG", "O"], ["B-PER"]]
    pos = list(read_conll(p, "conll2003", tag_col=1))
    assert pos[0].tags == ["NNP", "VBZ"]


def test_conll_wrong_column_count_names_line(tmp_path):
    p = write(tmp_path, "c.txt", "a O\nb O\nc\n")
    with pytest.raises(InputError, match=r"c.txt:3: expected 2 columns"):
        list(read_conll(p, "conll2002"))


def test_conll_write_read_round_trip(tmp_path):
    data = [(["Hola", "Madrid", "."], ["O", "B-LOC", "O"]), (["x"], ["O"])]
    buf = io.StringIO()
    assert write_conll(data, buf) == 2
    p = write(tmp_path, "r.txt", buf.getvalue())
    assert [(s.tokens, s.tags) for s in read_conll(p)] == data


CONLLU = """# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\tV\t_\t0\troot\t_\tNER=O
2\tnos\tnosotros\tPRON\tP\t_\t1\tobj\t_\tNER=O
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\tS\t_\t5\tcase\t_\t_
4\tel\tel\tDET\tD\t_\t5\tdet\t_\t_
5\tmar\tmar\tNOUN\tN\t_\t1\tobl\t_\tNER=B-LOC|SpaceAfter=No
6\t.\t.\tPUNCT\tF\t_\t1\tpunct\t_\tNER=O

# sent_id = 2
1\tMadrid\tMadrid\tPROPN\tN\t_\t0\troot\t_\tNER=B-LOC
"""


def test_conllu_upos_xpos_misc_and_multiword(tmp_path):
    p = write(tmp_path, "d.conllu", CONLLU)
    s = list(read_conllu(p, "upos"))
    assert s[0].tokens == ["Vamos", "nos", "a", "el", "mar", "."]
    assert s[0].tags == ["VERB", "PRON", "ADP", "DET", "NOUN", "PUNCT"]
    assert list(read_conllu(p, "xpos"))[1].tags == ["N"]
    assert [x.tags for x in read_conllu(p, "misc:NER")] == [["O", "O", "O", "O", "B-LOC", "O"], ["B-LOC"]]


def test_conllu_bad_column_count(tmp_path):
    p = write(tmp_path, "e.conllu", "1\tHola\tINTJ\n")
    with pytest.raises(InputError, match=r"e.conllu:1:.*10 tab-separated columns"):
        list(read_conllu(p))


def test_classification_formats(tmp_path):
    tsv = write(tmp_path, "a.tsv", "sports\tReal Madrid won.\nscience\tA new comet.\n")
    assert [(d.label, d.text) for d in read_classification(tsv, "tsv")] == [
        ("sports", "Real Madrid won."),
        ("science", "A new comet."),
    ]
    csv_ = write(tmp_path, "a.csv", 'id,body,topic\n1,"Stocks fell, again",business\n')
    docs = list(read_classification(csv_, "csv", text_field="body", label_field="topic"))
    assert (docs[0].text, docs[0].label) == ("Stocks fell, again", "business")
    jl = write(tmp_path, "a.jsonl", json.dumps({"t": "Hallo", "y": "x"}) + "\n\n")
    assert [(d.text, d.label) for d in read_classification(jl, "jsonl", "t", "y")] == [("Hallo", "x")]
    with pytest.raises(InputError, match="a.tsv:2: expected label<TAB>text"):
        list(read_classification(write(tmp_path, "a.tsv", "x\ty\nno tab here\n"), "tsv"))


def test_non_utf8_reports_byte_offset(tmp_path):
    p = write(tmp_path, "latin1.txt", "Stra\xdfe O\n".encode("utf-8") + "M\xfcnchen B-LOC\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.txt:2: not valid utf-8 at byte offset 11 \(byte 0xfc\)"):
        list(iter_lines(p))
    assert [ln for _, ln in iter_lines(p, "latin-1")][1] == "München B-LOC"


def test_jsonl_round_trip_and_errors(tmp_path):
    buf = io.StringIO()
    write_jsonl([{"tokens": ["日本", "語"]}], buf)
    p = write(tmp_path, "x.jsonl", buf.getvalue() + "{bad\n")
    it = read_jsonl(p)
    assert next(it) == (1, {"tokens": ["日本", "語"]})
    with pytest.raises(InputError, match="x.jsonl:2: invalid JSON"):
        next(it)


def test_atomic_outputs_get_normal_permissions(tmp_path):
    from mltl.files import atomic_dir, atomic_file

    with atomic_file(tmp_path / "a.txt") as f:
        f.write("x")
    with atomic_dir(tmp_path / "d") as d:
        (d / "f").write_text("y")
    assert (tmp_path / "a.txt").stat().st_mode & 0o044 == 0o044  # group/other readable (umask 022)
    assert (tmp_path / "d").stat().st_mode & 0o055 == 0o055
