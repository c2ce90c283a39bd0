"""Issue 19, `mltl select`: what to label next — least confident first, seeded random, or spread
over k-means clusters of the model's Fs features; repeats and already-labeled texts left out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import EXAMPLES, assert_one_line_error, run_cli

from mltl.selection import choose, kmeans


def test_uncertainty_takes_the_least_confident_first_ties_by_position():
    scores = np.array([0.9, 0.2, 0.5, 0.2, 0.99])
    assert choose(scores, None, 3, "uncertainty") == [1, 3, 2]
    assert choose(scores, None, 10, "uncertainty") == [1, 3, 2, 0, 4]


def test_random_is_seeded():
    scores = np.linspace(0, 1, 50)
    a, b, c = (choose(scores, None, 10, "random", seed=s) for s in (1, 1, 2))
    assert a == b != c and len(set(a)) == 10


def test_kmeans_finds_separated_clusters_and_diverse_takes_one_of_each():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    x = np.concatenate([c + rng.normal(0, 0.5, (25, 2)) for c in centres])
    truth = np.repeat(np.arange(4), 25)
    ids = kmeans(x, 4, np.random.default_rng(1))
    # the same partition up to cluster names
    assert len({(int(a), int(b)) for a, b in zip(ids, truth)}) == 4
    # cluster 0 holds the 8 least confident items: uncertainty takes 4 of them, diverse one per cluster
    scores = np.where(truth == 0, 0.1, 0.9) + rng.uniform(0, 0.05, 100)
    assert {int(truth[i]) for i in choose(scores, x, 4, "uncertainty")} == {0}
    picked = choose(scores, x, 4, "diverse", seed=3)
    assert sorted(int(truth[i]) for i in picked) == [0, 1, 2, 3]
    assert picked[0] == int(np.argmin(scores))  # least certain cluster first
    assert choose(scores, x, 4, "diverse", seed=3) == picked


@pytest.fixture(scope="module")
def model(example_chain):
    return example_chain / "model" / "model-best"


def test_select_cli_least_confident_items_as_labelstudio_tasks(model, tmp_path):
    lines = [
        " ".join(ln.split()[0] for ln in block.splitlines())
        for block in (EXAMPLES / "ner" / "de" / "test.txt").read_text(encoding="utf-8").strip().split("\n\n")
    ]
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join([*lines, lines[0], "", lines[1]]) + "\n", encoding="utf-8")  # repeats, an empty line
    labeled = tmp_path / "labeled.txt"
    labeled.write_text(lines[2] + "\n", encoding="utf-8")
    preds = [
        json.loads(x) for x in run_cli("predict", "--model", model, pool, "--scores", check=True).stdout.splitlines()
    ]
    want = sorted(
        {r["text"]: r["score"] for r in preds if r["tokens"] and r["text"] != lines[2]}.items(), key=lambda kv: kv[1]
    )[:4]
    out = tmp_path / "batch.json"
    p = run_cli(
        "select",
        pool,
        "--model",
        model,
        "-n",
        "4",
        "--exclude",
        labeled,
        "--format",
        "labelstudio",
        "-o",
        out,
        check=True,
    )
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [(t["data"]["text"], t["predictions"][0]["score"]) for t in tasks] == want
    assert "chose 4 of " in p.stderr and "1 excluded" in p.stderr and "2 repeats skipped" in p.stderr
    # diverse: reproducible for a seed; the same four never twice in the list
    runs = [
        run_cli("select", pool, "--model", model, "-n", "4", "-s", "diverse", "--seed", "5", check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and len({json.loads(x)["text"] for x in runs[0].splitlines()}) == 4


def test_select_bad_options_are_one_line(tmp_path, model):
    pool = tmp_path / "pool.txt"
    pool.write_text("Hallo Welt.\n", encoding="utf-8")
    assert_one_line_error(run_cli("select", pool, "--model", model, "-n", "2", "-s", "smart"), "unknown strategy")
    assert_one_line_error(run_cli("select", pool, "--model", model, "-n", "0"), "--count must be at least 1")
    assert_one_line_error(
        run_cli("select", pool, "--model", model, "-n", "1", "--exclude", tmp_path), "not a dataset directory"
    )
