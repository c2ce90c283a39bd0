"""Issue 20: mltl inside spaCy (the `mltl` pipeline component) and `mltl package` wheels, on a
model the suite trains itself on the shipped examples (conftest's example_chain)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import pytest
from conftest import EXAMPLES, assert_one_line_error, run_cli

spacy = pytest.importorskip("spacy")

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow


def _german_text(n: int = 12) -> str:
    """Sentences of the shipped German test set as raw text, one per line."""
    sents, cur = [], []
    for line in (EXAMPLES / "ner" / "de" / "test.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            cur.append(line.split()[0])
        elif cur:
            sents.append(" ".join(cur))
            cur = []
    return "\n".join(sents[:n]) + "\n"


def _spans(jsonl: str) -> list[tuple[int, int, str]]:
    """Entities of `mltl predict --format jsonl` output, as character spans into the whole text."""
    spans, base = [], 0
    for rec in map(json.loads, jsonl.splitlines()):
        spans += [(base + e["start"], base + e["end"], e["label"]) for e in rec["entities"]]
        base += len(rec["text"]) + 1
    return spans


@pytest.fixture(scope="module")
def model(example_chain):
    return example_chain / "model" / "model-best"


@pytest.fixture(scope="module")
def german(model, tmp_path_factory):
    """(text, its file, `mltl predict --format jsonl` output on it, the entities as char spans)."""
    text = _german_text()
    f = tmp_path_factory.mktemp("de") / "de.txt"
    f.write_text(text, encoding="utf-8")
    out = run_cli("predict", "--model", model, f, "--format", "jsonl", check=True).stdout
    return text, f, out, _spans(out)


def test_component_equals_mltl_predict_and_round_trips(model, german, tmp_path):
    text, _, _, want = german
    assert want, "the test model predicts no entity at all"
    nlp = spacy.blank("de")
    nlp.add_pipe("mltl", config={"model": str(model), "scores": True, "device": "cpu"})
    doc = nlp(text)
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == want
    assert all(0 < e._.mltl_score <= 1 for e in doc.ents) and 0 < doc._.mltl_scores["score"] <= 1
    # nlp.pipe batches and gives the same documents
    lines = text.splitlines()
    piped = list(nlp.pipe(lines, batch_size=5))
    assert [[(e.text, e.label_) for e in d.ents] for d in piped] == [
        [(e.text, e.label_) for e in nlp(line).ents] for line in lines
    ]
    # to_disk copies the model: spacy.load works after the original directory is gone
    copy = tmp_path / "model-copy"
    shutil.copytree(model, copy)
    nlp2 = spacy.blank("de")
    comp = nlp2.add_pipe("mltl", config={"model": str(copy), "device": "cpu"})
    # spaCy probes components with hasattr(…, "model") while building a pipeline: that must not
    # load the reference (spacy.load below runs the factory with a reference that is gone)
    assert not hasattr(comp, "model")
    nlp2.to_disk(tmp_path / "pipeline")
    shutil.rmtree(copy)
    loaded = spacy.load(tmp_path / "pipeline")
    assert [(e.start_char, e.end_char, e.label_) for e in loaded(text).ents] == want


def test_entities_off_the_docs_token_boundaries_are_dropped_and_counted(model, german, caplog):
    from spacy.tokens import Doc

    text, _, _, want = german
    nlp = spacy.blank("de")

    def three_chars(t: str) -> Doc:  # a tokenizer unlike mltl's: 3-character pieces
        words = [t[i : i + 3] for i in range(0, len(t), 3)]
        return Doc(nlp.vocab, words=words, spaces=[False] * len(words))

    nlp.tokenizer = three_chars
    comp = nlp.add_pipe("mltl", config={"model": str(model), "device": "cpu"})
    aligned = [(s, e, lab) for s, e, lab in want if s % 3 == 0 and (e % 3 == 0 or e == len(text))]
    with caplog.at_level(logging.WARNING, logger="mltl"):
        doc = nlp(text)  # never an exception
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == aligned
    assert comp.dropped == len(want) - len(aligned) > 0
    assert any("did not fall on the Doc's token boundaries" in r.getMessage() for r in caplog.records)


def test_package_installs_and_loads_by_name(model, german, tmp_path):
    dist = tmp_path / "dist"
    p = run_cli("package", model, "-o", dist, "--name", "mltl_test_ner", "--version", "1.0.0", check=True)
    wheel = dist / "mltl_test_ner-1.0.0-py3-none-any.whl"
    assert wheel.is_file() and str(wheel) in p.stdout
    assert [f.name for f in dist.iterdir()] == [wheel.name]  # nothing half-written beside it
    assert_one_line_error(
        run_cli("package", model, "-o", dist, "--name", "mltl_test_ner", "--version", "1.0.0"), "--force"
    )
    assert_one_line_error(run_cli("package", model, "-o", dist, "--name", "Bad-Name"), "--name 'Bad-Name'")
    # a fresh venv that sees this environment's packages (mltl, torch, spaCy) but not the model
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
    py = str(venv / "bin" / "python")
    site = subprocess.run(
        [py, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    import site as this_site

    with open(f"{site}/parent-env.pth", "w") as f:
        f.write(f"import site; site.addsitedir({this_site.getsitepackages()[0]!r})\n")
    pip = subprocess.run(
        [py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    text, text_file, direct, want = german
    by_name = subprocess.run(
        [py, "-m", "mltl", "predict", "--model", "mltl_test_ner", text_file, "--format", "jsonl"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout == direct
    code = (
        "import json, spacy, sys\nnlp = spacy.blank('de')\n"
        "nlp.add_pipe('mltl', config={'model': 'mltl_test_ner', 'device': 'cpu'})\n"
        "print(json.dumps([(e.start_char, e.end_char, e.label_) for e in nlp(sys.stdin.read()).ents]))\n"
    )
    sp = subprocess.run([py, "-c", code], input=text, capture_output=True, text=True, timeout=300)
    assert sp.returncode == 0, sp.stderr
    assert [tuple(x) for x in json.loads(sp.stdout)] == want
    # the card says what the model is
    import zipfile

    meta = zipfile.ZipFile(wheel).read("mltl_test_ner-1.0.0.dist-info/METADATA").decode()
    assert "Requires-Dist: mltl==" in meta and "**Zero-resource**" in meta and "source dev f1, en" in meta


def test_zero_shot_language_in_spacy_as_in_predict(example_chain, model, tmp_path):
    # Dutch was never seen by the model (sources en, es; target de): its aligned vectors make it
    # predictable, in spaCy as with `mltl predict --lang nl --vectors`; to_disk keeps them.
    vec = example_chain / "aligned" / "nl.vec"
    lines = []
    for line in (EXAMPLES / "unlabeled" / "nl.txt").read_text(encoding="utf-8").splitlines()[:15]:
        lines.append(line)
    text = "\n".join(lines) + "\n"
    (tmp_path / "nl.txt").write_text(text, encoding="utf-8")
    out = run_cli(
        "predict",
        "--model",
        model,
        "--lang",
        "nl",
        "--vectors",
        vec,
        tmp_path / "nl.txt",
        "--format",
        "jsonl",
        check=True,
    ).stdout
    want, base = [], 0
    for rec in map(json.loads, out.splitlines()):
        want += [(base + e["start"], base + e["end"], e["label"]) for e in rec["entities"]]
        base += len(rec["text"]) + 1
    nlp = spacy.blank("nl")
    nlp.add_pipe("mltl", config={"model": str(model), "lang": "nl", "vectors": str(vec), "device": "cpu"})
    assert [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents] == want
    nlp.to_disk(tmp_path / "pipe")
    assert [(e.start_char, e.end_char, e.label_) for e in spacy.load(tmp_path / "pipe")(text).ents] == want
    bad = spacy.blank("nl")
    with pytest.raises(Exception, match='"vectors" \\(a zero-shot language\\) needs "lang"'):
        bad.add_pipe("mltl", config={"model": str(model), "vectors": str(vec)})("Een zin.")
