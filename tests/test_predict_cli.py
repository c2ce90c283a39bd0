"""`mltl predict` / `mltl evaluate --model` through the real CLI on a model trained from the examples."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import EXAMPLES, assert_one_line_error, run_cli
from seqeval.metrics import f1_score

import mltl

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

DE_TEST = EXAMPLES / "ner" / "de" / "test.txt"
RAW = "Angela Merkel besuchte gestern Paris.\n\n  Die Siemens AG sitzt in München und Berlin.\n"


@pytest.fixture(scope="module")
def model(example_chain):
    return example_chain / "model" / "model-best"


def conll_sentences(text: str) -> list[list[list[str]]]:
    return [[ln.split() for ln in block.splitlines()] for block in text.strip().split("\n\n") if block.strip()]


def test_predictions_equal_the_models_own_forward_pass(model):
    from mltl.data.conll import read_conll
    from mltl.models.model import load_model

    out = run_cli(
        "predict", "--model", model, DE_TEST, "--input-format", "conll", "--format", "conll", check=True
    ).stdout
    sents = conll_sentences(out)
    gold = list(read_conll(DE_TEST))
    assert [[row[0] for row in s] for s in sents] == [g.tokens for g in gold]
    assert [[row[1] for row in s] for s in sents] == [g.tags for g in gold]  # gold kept (CoNLL round trip)
    direct = load_model(model).predict_batch("de", [g.tokens for g in gold], batch_size=7)
    assert [[row[2] for row in s] for s in sents] == [d["tags"] for d in direct]


def test_evaluate_equals_seqeval_on_the_predicted_file(model, tmp_path):
    pred = tmp_path / "pred.conll"
    run_cli(
        "predict", "--model", model, DE_TEST, "--input-format", "conll", "--format", "conll", "-o", pred, check=True
    )
    rows = conll_sentences(pred.read_text())
    gold, guess = [[r[1] for r in s] for s in rows], [[r[2] for r in s] for s in rows]
    report = json.loads(
        run_cli(
            "evaluate",
            "--model",
            model,
            DE_TEST,
            "--input-format",
            "conll",
            "--json",
            "--plot",
            tmp_path / "gates.png",
            check=True,
        ).stdout
    )
    assert report["f1"] == pytest.approx(f1_score(gold, guess))
    assert report["gates"]["experts"] == ["en", "es"]
    assert sum(report["gates"]["fp"]["all"]) == pytest.approx(1.0)
    assert (tmp_path / "gates.png").read_bytes()[:4] == b"\x89PNG"
    both = json.loads(run_cli("evaluate", "predictions", "--gold", pred, "--pred", pred, "--json", check=True).stdout)
    assert both["f1"] == pytest.approx(f1_score(gold, gold) if any(any(t != "O" for t in g) for g in gold) else 0)


def test_jsonl_offsets_point_into_the_original_text(model, tmp_path):
    (tmp_path / "de.txt").write_text(RAW, encoding="utf-8")
    out = run_cli("predict", "--model", model, tmp_path / "de.txt", "--gates", check=True).stdout
    recs = [json.loads(x) for x in out.splitlines()]
    lines = RAW.split("\n")[:-1]
    assert [r["text"] for r in recs] == lines  # one record per input line, order kept, blank line too
    for rec in recs:
        for tok in rec["tokens"]:
            assert rec["text"][tok["start"] : tok["end"]] == tok["text"]
        for ent in rec["entities"]:
            assert rec["text"][ent["start"] : ent["end"]] == ent["text"]
        assert len(rec["tags"]) == len(rec["tokens"])
        if rec["tokens"]:
            assert rec["gates"]["experts"] == ["en", "es"]
            assert len(rec["gates"]["fp"]) == len(rec["tokens"])


def test_stdin_stdout_pipeline_and_broken_pipe(model):
    text = "".join(f"Satz Nummer {i} über Berlin.\n" for i in range(3000))
    cmd = f"{sys.executable} -m mltl predict - --model {model} --format conll | head -n 2"
    p = subprocess.run(cmd, shell=True, input=text, capture_output=True, text=True)
    assert p.returncode == 0
    assert p.stdout.splitlines()[0].split()[0] == "Satz"
    assert p.stderr == ""  # the closed pipe ends quietly


def test_quiet_after_the_command(model, tmp_path):
    # scripts write `mltl predict --quiet …`, not only `mltl --quiet predict …`
    (tmp_path / "in.txt").write_text("Berlin liegt an der Spree.\n", encoding="utf-8")
    loud = run_cli("predict", "--model", model, tmp_path / "in.txt", "-o", tmp_path / "a.conll")
    p = run_cli("predict", "--model", model, tmp_path / "in.txt", "-o", tmp_path / "b.conll", "--quiet")
    assert loud.returncode == 0 and loud.stderr.strip()  # says what it wrote ...
    assert p.returncode == 0 and p.stderr == ""  # ... unless told to be quiet
    assert (tmp_path / "a.conll").read_text() == (tmp_path / "b.conll").read_text()
    assert_one_line_error(run_cli("predict", "--model", model, tmp_path / "nope.txt", "-q"), "nope.txt")


def test_empty_input_gives_empty_output(model, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    p = run_cli("predict", "--model", model, tmp_path / "empty.txt")
    assert p.returncode == 0 and p.stdout == ""


def test_zero_shot_language_with_its_own_vectors(example_chain, model, tmp_path):
    (tmp_path / "nl.txt").write_text("Mark Rutte bezocht gisteren Amsterdam.\n")
    p = run_cli("predict", "--model", model, tmp_path / "nl.txt", "--lang", "nl")
    assert_one_line_error(p, "no vectors for language 'nl'")
    p = run_cli(
        "predict",
        "--model",
        model,
        tmp_path / "nl.txt",
        "--lang",
        "nl",
        "--vectors",
        example_chain / "aligned" / "nl.vec",
        check=True,
    )
    assert [t["text"] for t in json.loads(p.stdout)["tokens"]][:2] == ["Mark", "Rutte"]


def test_zero_shot_vectors_are_taken_as_words_come(example_chain, model, tmp_path):
    # Issue 21: a 2,000,000-word file for a zero-shot language is not turned into a 2.4 GB table;
    # add_language keeps the (memory-mapped) vectors and each batch copies in the rows of its
    # words. Predictions are those of the whole table, as add_language built it before.
    import numpy as np

    from mltl.embeddings import load_vectors
    from mltl.embeddings.vectors import convert_vectors
    from mltl.models.featurize import PAD_WORD, UNK_WORD
    from mltl.models.model import load_model

    vec = example_chain / "aligned" / "nl.vec"
    lines = (EXAMPLES / "unlabeled" / "nl.txt").read_text(encoding="utf-8").splitlines()[:30]
    sents = [ln.split() for ln in lines if ln.strip()]
    sents += [[w.upper() for w in sents[0]], [w.lower() for w in sents[1]], [], ["<unk>", "<pad>", "zzzq"]]
    whole = load_model(model)
    v = load_vectors(vec)
    words = [PAD_WORD, UNK_WORD] + [w for w in v.words if w not in (PAD_WORD, UNK_WORD)]
    table = np.zeros((len(words), v.dim), dtype=np.float32)
    table[2:] = v.matrix[[i for i, w in enumerate(v.words) if w not in (PAD_WORD, UNK_WORD)]]
    whole.featurizer.vocabs["nl"], whole.featurizer.index["nl"] = words, {w: i for i, w in enumerate(words)}
    whole.net.embeddings.set_language("nl", table)
    want = whole.predict_batch("nl", sents, scores=True)

    lazy = load_model(model)
    lazy.add_language("nl", convert_vectors(vec, tmp_path / "nl", dtype="float32"))
    assert isinstance(lazy._pending["nl"].matrix, np.memmap) and len(lazy.featurizer.vocabs["nl"]) == 2
    lazy.predict_batch("nl", sents[:3])  # a first batch: its words' rows only
    first = len(lazy.featurizer.vocabs["nl"])
    assert lazy.predict_batch("nl", sents, scores=True) == want
    seen = {k for s in sents for w in s for k in (w, w.lower()) if k in v.index}
    assert 2 < first < len(lazy.featurizer.vocabs["nl"]) <= 2 + len(seen) < len(words)
    assert lazy.vectors["nl"].shape == (len(lazy.featurizer.vocabs["nl"]), v.dim)


def test_output_directory_for_many_inputs(model, tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Berlin ist groß.\n")
    run_cli("predict", "--model", model, tmp_path / "a.txt", tmp_path / "b.txt", "-o", tmp_path / "out", check=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt.jsonl", "b.txt.jsonl"]


def test_bad_model_directories(model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    (broken / "weights.pt").write_bytes((model / "weights.pt").read_bytes()[:100])
    (tmp_path / "x.txt").write_text("Berlin\n")
    assert_one_line_error(run_cli("predict", "--model", broken, tmp_path / "x.txt"), "weights.pt", "truncated")
    (broken / "weights.pt").unlink()
    assert_one_line_error(run_cli("predict", "--model", broken, tmp_path / "x.txt"), "weights.pt", "missing")
    old = tmp_path / "old"
    shutil.copytree(model, old)
    marker = json.loads((old / "mltl-model.json").read_text())
    marker["mltl_version"] = "0.0.1"
    (old / "mltl-model.json").write_text(json.dumps(marker))
    assert_one_line_error(run_cli("predict", "--model", old, tmp_path / "x.txt"), "mltl 0.0.1")


def test_bad_inputs(model, tmp_path):
    (tmp_path / "latin.txt").write_bytes("Stra\xdfe\n".encode("latin-1"))
    assert_one_line_error(run_cli("predict", "--model", model, tmp_path / "latin.txt"), "latin.txt:1", "byte offset 4")
    (tmp_path / "odd.conll").write_text("Berlin B-CITY\n")
    assert_one_line_error(
        run_cli("evaluate", "--model", model, tmp_path / "odd.conll"),
        "odd.conll",
        "not in the model's label set: B-CITY",
    )


def test_pretokenized_jsonl_needs_no_tokenizer(model, tmp_path):
    # Rows with "tokens" are predicted as given: the tokenizer (here one that cannot be
    # built, sentencepiece without --sp-model) is only made for a row with "text".
    rows = tmp_path / "tok.jsonl"
    rows.write_text(json.dumps({"tokens": ["Angela", "Merkel", "besuchte", "Paris", "."]}) + "\n")
    out = run_cli("predict", "--model", model, rows, "--tokenizer", "sentencepiece", check=True).stdout
    assert len(json.loads(out)["tags"]) == 5
    texts = tmp_path / "text.jsonl"
    texts.write_text(json.dumps({"text": "Angela Merkel besuchte Paris."}) + "\n")
    assert_one_line_error(
        run_cli("predict", "--model", model, texts, "--tokenizer", "sentencepiece", "-o", tmp_path / "out.jsonl"),
        "--sp-model",
    )
    assert not (tmp_path / "out.jsonl").exists()


def test_cached_inference_equals_the_plain_forward(model):
    """Model.run caches CharCNN outputs per word form and batches by a token budget;
    the log-probabilities must equal ``net(batch)`` on the same sentences."""
    import numpy as np
    import torch

    from mltl.data.conll import read_conll
    from mltl.models.model import load_model

    m = load_model(model)
    m.MAX_BATCH_TOKENS = 50  # force many small batches
    sents = [s.tokens for s in read_conll(DE_TEST)]
    corpus = m.featurizer.encode("de", sents)
    got = {}
    for _ in range(2):  # the second pass is served from the cache
        for idx, out in m.run(corpus, batch_size=8):
            for r, i in enumerate(idx):
                got[int(i)] = out.log_probs[r, : len(sents[i])].clone()
    with torch.inference_mode():
        idx = np.arange(len(sents))
        ref = m.net(corpus.batch(idx, with_chars=True, with_labels=False)).log_probs
    for i in range(len(sents)):
        torch.testing.assert_close(got[i], ref[i, : len(sents[i])], atol=1e-5, rtol=1e-5)
    # weights updated in place (as an optimizer step does, e.g. between dev evaluations):
    # the cache must not serve features of the old weights
    with torch.no_grad():
        for p in m.net.charcnn.parameters():
            p.mul_(1.5)
    m.MAX_BATCH_TOKENS = 10**9
    _, first = next(m.run(corpus, batch_size=len(sents)))
    with torch.inference_mode():
        ref = m.net(
            corpus.batch(np.argsort(corpus.lengths, kind="stable"), with_chars=True, with_labels=False)
        ).log_probs
    torch.testing.assert_close(first.log_probs, ref, atol=1e-5, rtol=1e-5)


def test_classification_predict_and_evaluate(tmp_path):
    """Topic classification en,es -> fr on the shipped examples: labels + probabilities out,
    accuracy/macro-F1/confusion and gate weights from evaluate."""
    from conftest import TINY_MODEL

    def one_language(lang: str) -> None:  # prepare -> embed; the languages are independent
        run_cli(
            "-q",
            "prepare",
            "--task",
            "classification",
            "--lang",
            lang,
            EXAMPLES / "cls" / f"{lang}.tsv",
            "--split",
            "80/10/10",
            "--unlabeled-text",
            EXAMPLES / "unlabeled" / f"{lang}.txt",
            "-o",
            tmp_path / "data" / lang,
            check=True,
        )
        run_cli(
            "-q",
            "embed",
            "--lang",
            lang,
            tmp_path / "data" / lang / "unlabeled.jsonl",
            tmp_path / "data" / lang / "train.jsonl",
            "-o",
            tmp_path / "vec" / lang,
            "--dim",
            "16",
            "--min-count",
            "1",
            "--epoch",
            "3",
            "--threads",
            "1",
            check=True,
        )

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one_language, ("en", "es", "fr")))
    run_cli(
        "-q",
        "align",
        "--hub",
        "en",
        *(tmp_path / "vec" / f"{x}.vec" for x in ("en", "es", "fr")),
        "--method",
        "identical",
        "-o",
        tmp_path / "aligned",
        check=True,
    )
    run_cli(
        "-q",
        "train",
        "--task",
        "classification",
        "--sources",
        "en,es",
        "--target",
        "fr",
        "--data",
        tmp_path / "data",
        "--vectors",
        tmp_path / "aligned",
        "-o",
        tmp_path / "m",
        "--max-steps",
        "10",
        "--no-char-cnn",
        *TINY_MODEL,
        check=True,
    )
    model = tmp_path / "m" / "model-best"
    (tmp_path / "fr.txt").write_text("Le PSG a gagné le match hier soir.\nLa bourse de Paris a baissé.\n")
    recs = [
        json.loads(x) for x in run_cli("predict", "--model", model, tmp_path / "fr.txt", check=True).stdout.splitlines()
    ]
    assert len(recs) == 2 and recs[0]["text"].startswith("Le PSG")
    for r in recs:
        assert r["label"] in ("business", "science", "sports")
        assert sum(r["probs"].values()) == pytest.approx(1.0, abs=1e-4)
        assert r["label"] == max(r["probs"], key=r["probs"].get)
    report = json.loads(
        run_cli("evaluate", "--model", model, tmp_path / "data" / "fr" / "test.jsonl", "--json", check=True).stdout
    )
    assert report["task"] == "classification" and report["documents"] == 19
    assert sum(map(sum, report["confusion"])) == 19
    assert set(report["gates"]["c"]["by"]) <= {"business", "science", "sports"}
    # the same model in spaCy (issue 20): doc.cats are the probabilities `mltl predict` gave
    import spacy

    nlp = spacy.blank("fr")
    nlp.add_pipe("mltl", config={"model": str(model), "device": "cpu", "scores": True})
    for r in recs:
        doc = nlp(r["text"])
        assert doc.cats == pytest.approx(r["probs"], abs=1e-6)
        assert doc._.mltl_scores["label"] == r["label"] == max(doc.cats, key=doc.cats.get)


def test_doccano_export_and_scores_agree_with_jsonl(model, tmp_path):
    # Issue 19: `--format doccano` is text + [[start, end, TAG]] spans, the same entities as the
    # JSONL output; `--scores` adds a confidence per sentence and per entity in both.
    (tmp_path / "de.txt").write_text(RAW, encoding="utf-8")
    js = [
        json.loads(x)
        for x in run_cli("predict", "--model", model, tmp_path / "de.txt", "--scores", check=True).stdout.splitlines()
    ]
    dc = [
        json.loads(x)
        for x in run_cli(
            "predict", "--model", model, tmp_path / "de.txt", "--format", "doccano", "--scores", check=True
        ).stdout.splitlines()
    ]
    assert len(js) == len(dc) == len([ln for ln in RAW.splitlines()])
    assert any(r["entities"] for r in js), "the test model predicts no entity at all"
    for j, d in zip(js, dc):
        assert set(d) == {"text", "label", "score", "label_scores"} and d["text"] == j["text"]
        assert d["label"] == [[e["start"], e["end"], e["label"]] for e in j["entities"]]
        assert [d["text"][s:e] for s, e, _ in d["label"]] == [e["text"] for e in j["entities"]]
        assert d["label_scores"] == [e["score"] for e in j["entities"]] and d["score"] == j["score"]
        assert (0 < j["score"] <= 1) if j["tokens"] else j["score"] is None  # an empty line has no score
        assert all(0 < e["score"] <= 1 for e in j["entities"])
    # --format labelstudio: one JSON task list, the same entities as Label Studio results, scores always
    ls = json.loads(
        run_cli("predict", "--model", model, tmp_path / "de.txt", "--format", "labelstudio", check=True).stdout
    )
    assert [t["data"]["text"] for t in ls] == [j["text"] for j in js]
    for t, j in zip(ls, js):
        (p,) = t["predictions"]
        assert p.get("score") == j["score"] and p["model_version"].endswith(f"(mltl {mltl.__version__})")
        assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"], r["score"]) for r in p["result"]] == [
            (e["start"], e["end"], [e["label"]], e["score"]) for e in j["entities"]
        ]
    plain = json.loads(run_cli("predict", "--model", model, tmp_path / "de.txt", check=True).stdout.splitlines()[0])
    assert "score" not in plain and all("score" not in e for e in plain["entities"])
    # --format spacy: a DocBin `spacy train` reads; same texts, same entities
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    assert_one_line_error(run_cli("predict", "--model", model, tmp_path / "de.txt", "--format", "spacy"), "-o FILE")
    run_cli(
        "predict", "--model", model, tmp_path / "de.txt", "--format", "spacy", "-o", tmp_path / "de.spacy", check=True
    )
    docs = list(DocBin().from_disk(tmp_path / "de.spacy").get_docs(Vocab()))
    assert [d.text for d in docs] == [j["text"] for j in js]
    assert [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in docs] == [
        [(e["start"], e["end"], e["label"]) for e in j["entities"]] for j in js
    ]
