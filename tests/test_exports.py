"""Issue 19, exports: doccano records and confidences; character offsets are exact substrings of
the input text (CRLF, tabs, emoji, combining marks, CJK)."""

from __future__ import annotations

import pytest

from mltl.predict import Item, doccano_record, entities, jsonl_record, read_items, sentence_score
from mltl.text.tokenize import get_tokenizer

LINES = {
    "de": [
        "Angela Merkel\tbesuchte  München 👍🏽 mit Café-Besitzern.",
        "Die e\u0301cole in Zürich — ﬁnal: Straße, 🇩🇪 Berlin!",
    ],
    "zh": ["习近平在北京会见了普京。", "东京大学的研究人员发表了论文"],
}


def _tags(n: int) -> list[str]:
    """B-X on every third token, I-X after it: spans of 2 tokens everywhere in the sentence."""
    tags = ["O"] * n
    for i in range(0, n - 1, 3):
        tags[i], tags[i + 1] = "B-LOC", "I-LOC"
    return tags


@pytest.mark.parametrize("lang", sorted(LINES))
def test_doccano_spans_are_exact_substrings_of_the_input(lang, tmp_path):
    f = tmp_path / f"{lang}.txt"
    f.write_bytes("\r\n".join(LINES[lang]).encode("utf-8") + b"\r\n")  # CRLF line ends
    items = list(read_items(str(f), "text", get_tokenizer(lang)))
    assert [it.text for it in items] == LINES[lang]  # no \r in the text
    for it in items:
        tags = _tags(len(it.tokens))
        probs = [0.5 + 0.01 * i for i in range(len(tags))]
        rec = doccano_record(it, {"tags": tags, "tag_probs": probs}, True, "bio", scores=True)
        assert rec["text"] == it.text and rec["label"]
        for (start, end, label), score, (_, s, e) in zip(
            rec["label"], rec["label_scores"], [(t, s, e) for t, s, e in entities_as_tokens(tags)]
        ):
            assert label == "LOC"
            # the span is the text from its first token's start to its last token's end
            assert rec["text"][start:end] == it.text[it.offsets[s][0] : it.offsets[e - 1][1]]
            assert rec["text"][start:end].startswith(it.tokens[s]) and rec["text"][start:end].endswith(it.tokens[e - 1])
            assert score == pytest.approx(sum(probs[s:e]) / (e - s))
        inside = [p for p, t in zip(probs, tags) if t != "O"]
        assert rec["score"] == pytest.approx(sum(inside) / len(inside))


def entities_as_tokens(tags):
    from mltl.data.schemes import to_spans

    return to_spans(tags)


def test_pretokenized_input_gets_a_text_its_offsets_point_into():
    it = Item(["Angela", "Merkel", "in", "Berlin", "."])
    rec = doccano_record(it, {"tags": ["B-PER", "I-PER", "O", "B-LOC", "O"]}, True, "bio")
    assert rec == {"text": "Angela Merkel in Berlin .", "label": [[0, 13, "PER"], [17, 23, "LOC"]]}
    assert [rec["text"][s:e] for s, e, _ in rec["label"]] == ["Angela Merkel", "Berlin"]


def test_classification_records_and_scores():
    it = Item(
        ["Der", "Satellit", "misst", "Methan"], "Der Satellit misst Methan", [(0, 3), (4, 12), (13, 18), (19, 25)]
    )
    pred = {"label": "science", "probs": {"business": 0.1, "science": 0.7, "sports": 0.2}}
    assert doccano_record(it, pred, False, None) == {"text": it.text, "label": ["science"]}
    assert doccano_record(it, pred, False, None, scores=True)["score"] == pytest.approx(0.7)
    rec = jsonl_record(it, pred, False, None, ["en", "es"], scores=True)
    assert rec["score"] == pytest.approx(0.7) and rec["label"] == "science"
    assert "score" not in jsonl_record(it, pred, False, None, ["en", "es"])


def test_entity_and_sentence_scores():
    it = Item(["a", "b", "c"], "a b c", [(0, 1), (2, 3), (4, 5)])
    ents = entities(it, ["B-PER", "I-PER", "O"], "bio", [0.9, 0.5, 0.8])
    assert ents[0]["score"] == pytest.approx(0.7) and ents[0]["text"] == "a b"
    assert sentence_score([0.9, 0.5, 0.8]) == pytest.approx(2.2 / 3) and sentence_score([]) is None
    # with the tags: the mean over entity tokens; no entity: the least probable tag
    assert sentence_score([0.9, 0.5, 0.8], ["B-PER", "I-PER", "O"]) == pytest.approx(0.7)
    assert sentence_score([0.9, 0.5, 0.8], ["O", "O", "O"]) == pytest.approx(0.5)
    assert "score" not in entities(it, ["B-PER", "I-PER", "O"], "bio")[0]


@pytest.mark.parametrize("lang", sorted(LINES))
def test_spacy_docs_keep_the_exact_text_and_the_entities(lang, tmp_path):
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from mltl.predict import spacy_doc

    f = tmp_path / f"{lang}.txt"
    f.write_text("\n".join(LINES[lang]) + "\n", encoding="utf-8")
    vocab = Vocab()
    bin_ = DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE"])
    want = []
    for it in read_items(str(f), "text", get_tokenizer(lang)):
        tags = _tags(len(it.tokens))
        doc = spacy_doc(vocab, it, {"tags": tags}, True, "bio")
        assert doc.text == it.text  # tabs, double spaces, emoji, combining marks kept
        ents = [(e["start"], e["end"], e["label"]) for e in entities(it, tags, "bio")]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == ents
        bin_.add(doc)
        want.append((doc.text, ents))
    back = list(DocBin().from_bytes(bin_.to_bytes()).get_docs(Vocab()))
    assert [(d.text, [(e.start_char, e.end_char, e.label_) for e in d.ents]) for d in back] == want
    # pre-tokenized input and a document label
    doc = spacy_doc(
        vocab, Item(["Der", "Satellit"]), {"label": "science", "probs": {"science": 0.8, "sports": 0.2}}, False, None
    )
    assert doc.text == "Der Satellit" and doc.cats == pytest.approx({"science": 0.8, "sports": 0.2})


# --- import: `mltl prepare --format doccano` reads doccano's export ------------------------------


def _write_jsonl(path, records):
    import json

    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_doccano_round_trip_through_prepare(tmp_path):
    import json

    from mltl.data.prepare import prepare

    # what `mltl predict --format doccano` writes is what prepare reads back, tags unchanged
    tok = get_tokenizer("de")
    f = tmp_path / "de.txt"
    f.write_text("\n".join(LINES["de"]) + "\n", encoding="utf-8")
    items = list(read_items(str(f), "text", tok))
    recs = [dict(doccano_record(it, {"tags": _tags(len(it.tokens))}, True, "bio"), id=i) for i, it in enumerate(items)]
    meta = prepare(
        [str(_write_jsonl(tmp_path / "ann.jsonl", recs))], tmp_path / "data", task="tagging", lang="de", fmt="doccano"
    )
    assert meta["splits"]["train"]["items"] == 2 and meta["spans_snapped"] == 0
    back = [json.loads(x) for x in (tmp_path / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["tokens"] for r in back] == [it.tokens for it in items]
    assert [r["tags"] for r in back] == [_tags(len(it.tokens)) for it in items]
    assert [r["text"] for r in back] == LINES["de"]


def test_doccano_spans_off_token_boundaries_fail_or_snap(tmp_path):
    from conftest import assert_one_line_error, run_cli

    from mltl.data.prepare import prepare
    from mltl.errors import InputError

    recs = [{"id": 7, "text": "Angela Merkel besuchte Berlin.", "label": [[0, 10, "PER"], [23, 29, "LOC"]]}]
    ann = _write_jsonl(tmp_path / "ann.jsonl", recs)  # [0, 10] ends inside "Merkel"
    with pytest.raises(InputError, match=r"record id 7: span \[0, 10\] 'Angela Mer' \(PER\) does not start"):
        prepare([str(ann)], tmp_path / "x", task="tagging", lang="de", fmt="doccano")
    assert not (tmp_path / "x").exists()
    p = run_cli("prepare", "--format", "doccano", "--lang", "de", ann, "-o", tmp_path / "y")
    assert_one_line_error(p, "ann.jsonl:1", "record id 7", "--repair")
    meta = prepare([str(ann)], tmp_path / "z", task="tagging", lang="de", fmt="doccano", repair=True)
    assert meta["spans_snapped"] == 1
    import json

    rec = json.loads((tmp_path / "z" / "train.jsonl").read_text(encoding="utf-8"))
    assert rec["tags"] == ["B-PER", "I-PER", "O", "B-LOC", "O"]


@pytest.mark.parametrize(
    "label,message",
    [
        ([[0, 6, "PER"], [0, 13, "PER"]], "overlaps another span"),
        (["business"], "is this a text-classification export"),
        ([[0, 99, "PER"]], "lies outside its text"),
    ],
)
def test_doccano_bad_records_are_named(tmp_path, label, message):
    from mltl.data.prepare import prepare
    from mltl.errors import InputError

    ann = _write_jsonl(
        tmp_path / "a.jsonl", [{"text": "ok", "label": []}, {"id": 3, "text": "Angela Merkel", "label": label}]
    )
    with pytest.raises(InputError, match=message) as exc:
        prepare([str(ann)], tmp_path / "x", task="tagging", lang="de", fmt="doccano")
    assert "a.jsonl:2" in str(exc.value) and "record id 3" in str(exc.value)


def test_doccano_classification_import(tmp_path):
    from mltl.data.prepare import prepare
    from mltl.errors import InputError

    recs = [
        {"text": "Der Satellit misst Methan.", "label": ["science"]},
        {"text": "Tor in Minute 90.", "label": ["sports"]},
    ]
    meta = prepare(
        [str(_write_jsonl(tmp_path / "c.jsonl", recs))], tmp_path / "d", task="classification", lang="de", fmt="doccano"
    )
    assert meta["labels"] == ["science", "sports"] and meta["splits"]["train"]["items"] == 2
    bad = _write_jsonl(tmp_path / "b.jsonl", [{"id": 9, "text": "x y", "label": ["a", "b"]}])
    with pytest.raises(InputError, match="record id 9: 2 labels"):
        prepare([str(bad)], tmp_path / "e", task="classification", lang="de", fmt="doccano")


def test_docbin_round_trip_through_prepare(tmp_path):
    import json

    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from mltl.data.prepare import prepare
    from mltl.errors import InputError
    from mltl.predict import spacy_doc

    f = tmp_path / "de.txt"
    f.write_text("\n".join(LINES["de"]) + "\n", encoding="utf-8")
    items = list(read_items(str(f), "text", get_tokenizer("de")))
    bin_ = DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE"])
    for it in items:
        bin_.add(spacy_doc(Vocab(), it, {"tags": _tags(len(it.tokens))}, True, "bio"))
    bin_.to_disk(tmp_path / "de.spacy")
    meta = prepare([str(tmp_path / "de.spacy")], tmp_path / "data", task="tagging", lang="de", fmt="spacy")
    assert meta["splits"]["train"]["items"] == 2
    back = [json.loads(x) for x in (tmp_path / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["tokens"] for r in back] == [it.tokens for it in items]  # whitespace tokens left out
    assert [r["tags"] for r in back] == [_tags(len(it.tokens)) for it in items]
    # classification: the best doc.cats label
    cls = DocBin()
    for text, cats in (
        ("Der Satellit misst Methan.", {"science": 0.9, "sports": 0.1}),
        ("Tor!", {"science": 0.2, "sports": 0.8}),
    ):
        d = spacy_doc(Vocab(), Item(text.split()), {"label": "", "probs": cats}, False, None)
        cls.add(d)
    cls.to_disk(tmp_path / "c.spacy")
    meta = prepare([str(tmp_path / "c.spacy")], tmp_path / "c", task="classification", lang="de", fmt="spacy")
    assert meta["labels"] == ["science", "sports"]
    (tmp_path / "junk.spacy").write_bytes(b"not a docbin")
    with pytest.raises(InputError, match="not a spaCy DocBin"):
        prepare([str(tmp_path / "junk.spacy")], tmp_path / "j", task="tagging", lang="de", fmt="spacy")
