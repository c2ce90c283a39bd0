"""Plugins through the real CLI: the example plugins (installed by .ci/run with
``pip install -e plugins/*/``), a broken plugin and an API-version mismatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, TINY_MODEL, run_cli

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

pytest.importorskip("mltl_crf", reason="pip install -e plugins/mltl-crf (done by .ci/run)")


def _fake_dist(site: Path, dist: str, module: str, code: str) -> None:
    """An installed distribution as pip leaves it (module + dist-info with an entry point), without pip."""
    (site / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[mltl.plugins]\n{module} = {module}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def bad_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    _fake_dist(
        site,
        "mltl-broken",
        "brokenplug",
        """
        import no_such_dependency_xyz  # fails
        MLTL_API_VERSION = 1
    """,
    )
    _fake_dist(
        site,
        "mltl-future",
        "futureplug",
        """
        from mltl.registry import register_head
        MLTL_API_VERSION = 99

        @register_head("future")
        class FutureHead:
            pass
    """,
    )
    return site


def cli_with(site: Path, *args, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONIOENCODING="utf-8", COLUMNS="200", OMP_NUM_THREADS="2")
    return subprocess.run(
        [sys.executable, "-m", "mltl", *map(str, args)], capture_output=True, text=True, env=env, timeout=300, **kw
    )


def test_plugins_lists_builtins_and_crf():
    p = run_cli("plugins", "--json", check=True)
    data = json.loads(p.stdout)
    assert data["api_version"] == 1
    by = {x["name"]: x for x in data["plugins"]}
    assert by["crf"]["dist"] == "mltl-crf" and by["crf"]["status"] == "ok" and by["crf"]["registers"] == ["head:crf"]
    assert by["builtin-heads"]["builtin"] and "head:tagging" in by["builtin-heads"]["registers"]
    assert {"crf", "tagging", "classification"} <= set(data["registered"]["head"])
    table = run_cli("plugins", check=True).stdout
    assert "crf" in table and "mltl-crf" in table and "ok" in table
    info = json.loads(run_cli("info", "--json", check=True).stdout)
    assert "crf (mltl-crf 0.1.0)" in info["plugins"]


def test_broken_and_mismatched_plugins_are_reported_and_ignored(bad_site, example_chain):
    h = cli_with(bad_site, "--help")
    assert h.returncode == 0 and "plugins" in h.stdout and h.stderr == ""
    p = cli_with(bad_site, "plugins", "--json")
    assert p.returncode == 0, p.stderr
    by = {x["name"]: x for x in json.loads(p.stdout)["plugins"]}
    assert by["brokenplug"]["status"] == "error" and "no_such_dependency_xyz" in by["brokenplug"]["reason"]
    assert by["futureplug"]["status"] == "api-mismatch"
    assert "targets mltl plugin API 99, this mltl has API 1" in by["futureplug"]["reason"]
    assert by["futureplug"]["registers"] == [] and by["crf"]["status"] == "ok"  # the rest keeps working
    table = cli_with(bad_site, "plugins").stdout
    assert "mltl-broken" in table and "error" in table and "api-mismatch" in table
    # a lookup that needs the registry (train checks its data first, so give it real data): each bad
    # plugin is reported once, by name, with its reason; the mismatched plugin's head was rolled back
    t = cli_with(
        bad_site,
        "train",
        "--head",
        "future",
        "--sources",
        "en",
        "--target",
        "de",
        "--data",
        example_chain / "data",
        "--vectors",
        example_chain / "aligned",
        "-o",
        bad_site / "out",
    )
    assert t.returncode == 2 and "Traceback" not in t.stderr
    assert t.stderr.count("plugin 'brokenplug' (mltl-broken 0.3) failed to load") == 1
    assert t.stderr.count("plugin 'futureplug' (mltl-future 0.3) is for another API version") == 1
    assert "unknown head 'future'" in t.stderr and not (bad_site / "out").exists()


@pytest.fixture(scope="module")
def crf_model(example_chain, tmp_path_factory):
    out = tmp_path_factory.mktemp("crf") / "run"
    w = example_chain
    p = run_cli(
        "train",
        "--task",
        "tagging",
        "--head",
        "crf",
        "--sources",
        "en,es",
        "--target",
        "de",
        "--data",
        w / "data",
        "--vectors",
        w / "aligned",
        "-o",
        out,
        "--max-steps",
        "40",
        "--steps-per-epoch",
        "20",
        "--lr",
        "0.01",
        "--seed",
        "1",
        *TINY_MODEL,
        check=True,
    )
    assert "model-best: f1" in p.stdout
    return out / "model-best"


def test_train_predict_with_crf_head(crf_model, tmp_path):
    cfg = json.loads((crf_model / "config.json").read_text())
    assert cfg["model"]["head"] == "crf" and cfg["plugins"] == {"head:crf": "mltl-crf 0.1.0"}
    test = ROOT / "examples" / "data" / "ner" / "de" / "test.txt"
    p = run_cli("predict", "--model", crf_model, "--input-format", "conll", test, "--format", "jsonl", check=True)
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(recs) > 10
    for r in recs:  # Viterbi under BIO constraints: never I-X after O (or at the start)
        assert len(r["tags"]) == len(r["tokens"])
        for prev, cur in zip(["O", *r["tags"]], r["tags"]):
            assert not cur.startswith("I-") or prev in ("B-" + cur[2:], cur), r["tags"]


def test_model_names_the_missing_plugin(crf_model, tmp_path):
    import shutil

    m = tmp_path / "m"
    shutil.copytree(crf_model, m)
    cfg = json.loads((m / "config.json").read_text())
    cfg["model"]["head"] = "crf2"
    cfg["plugins"] = {"head:crf2": "mltl-crf2 0.4.0"}
    (m / "config.json").write_text(json.dumps(cfg))
    p = run_cli("predict", "--model", m, "-", "--lang", "de", "--tokenizer", "whitespace", input="Hallo Welt\n")
    err = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(err) == 1, p.stderr
    assert "head 'crf2' comes from the plugin package mltl-crf2 0.4.0" in err[0] and "pip install mltl-crf2" in err[0]


def test_plugin_own_tests():
    """Each example plugin's own test suite (brute-force checks of the CRF, ...)."""
    dirs = [str(d / "tests") for d in sorted((ROOT / "plugins").iterdir()) if (d / "tests").is_dir()]
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *dirs],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout[-3000:]


def test_multilabel_task_train_predict(example_chain, tmp_path):
    """Multi-label documents built from the example classification data (one label, or two for
    two documents joined), JSONL for es/de and TSV for en, trained and predicted through the CLI."""
    pytest.importorskip("mltl_multilabel", reason="pip install -e plugins/mltl-multilabel (done by .ci/run)")
    import random

    data = tmp_path / "data"
    files = []
    for lang in ("en", "es", "de"):
        rows = [
            ln.split("\t", 1)
            for ln in (ROOT / "examples" / "data" / "cls" / f"{lang}.tsv").read_text(encoding="utf-8").splitlines()
            if "\t" in ln
        ]
        random.Random(0).shuffle(rows)
        docs = []
        for (a, ta), (b, tb) in zip(rows[0::2], rows[1::2]):
            ta, tb = " ".join(ta.split()[:10]), " ".join(tb.split()[:6])  # short: a fast test
            docs += [([a], ta), (sorted({a, b}), f"{ta} {tb}")]
        d = data / lang
        d.mkdir(parents=True)
        n = len(docs)
        for split, part in (
            ("train", docs[: n * 7 // 10]),
            ("dev", docs[n * 7 // 10 : n * 17 // 20]),
            ("test", docs[n * 17 // 20 :]),
        ):
            if lang == "en" and split == "train":
                (d / "train.tsv").write_text("".join(f"{','.join(y)}\t{t}\n" for y, t in part), encoding="utf-8")
                files += ["--set", f'data.files.en.train="{d / "train.tsv"}"']
            else:
                (d / f"{split}.jsonl").write_text(
                    "".join(json.dumps({"text": t, "labels": y}) + "\n" for y, t in part), encoding="utf-8"
                )
        unl = (ROOT / "examples" / "data" / "unlabeled" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        (d / "unlabeled.jsonl").write_text(
            "".join(json.dumps({"text": t}) + "\n" for t in unl[:200] if t.strip()), encoding="utf-8"
        )
    out = tmp_path / "run"
    p = run_cli(
        "train",
        "--task",
        "multilabel",
        "--sources",
        "en,es",
        "--target",
        "de",
        "--data",
        data,
        "--vectors",
        example_chain / "aligned",
        "-o",
        out,
        "--max-steps",
        "8",
        "--steps-per-epoch",
        "4",
        "--lr",
        "0.01",
        *TINY_MODEL,
        *files,
        check=True,
    )
    assert "micro_f1" in p.stdout
    cfg = json.loads((out / "model-best" / "config.json").read_text())
    assert cfg["task"] == "multilabel" and cfg["plugins"]["task:multilabel"] == "mltl-multilabel 0.1.0"
    p = run_cli("predict", "--model", out / "model-best", data / "de" / "test.jsonl", "--format", "jsonl", check=True)
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    assert recs and all(set(r["probs"]) == {"business", "science", "sports"} for r in recs)
    for r in recs:
        assert isinstance(r["labels"], list) and set(r["labels"]) <= set(r["probs"])
        assert all(0.0 <= v <= 1.0 for v in r["probs"].values())
