"""`mltl train` through the real CLI (subprocesses): learning, outputs, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from toydata import make_toy_data  # noqa: E402

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

TINY = [
    "--hidden-size",
    "16",
    "--private-hidden-size",
    "16",
    "--expert-hidden",
    "16",
    "--layers",
    "1",
    "--char-emb-size",
    "8",
    "--set",
    "model.char_kernels=8",
    "--set",
    "model.char_out=8",
    "--set",
    "model.d_kernels=8",
    "--set",
    "model.d_hidden=8",
    "--threads",
    "1",
]


def mltl(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run([sys.executable, "-m", "mltl", *args], capture_output=True, text=True, env=env)
    if check_rc is not None:
        assert p.returncode == check_rc, p.stderr
    return p


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("clitoy")
    return make_toy_data(
        root, ["en", "es", "de"], unlabeled_only=("de",), n_concepts=30, n_train=160, n_dev=40, n_unlabeled=80
    )


def test_cli_training_learns(toy, tmp_path):
    data, vec = toy
    out = tmp_path / "model"
    p = mltl(
        "train",
        "--task",
        "tagging",
        "--sources",
        "en,es",
        "--target",
        "de",
        "--data",
        str(data),
        "--vectors",
        str(vec),
        "-o",
        str(out),
        "--max-epochs",
        "12",
        "--steps-per-epoch",
        "10",
        "--lr",
        "0.02",
        "--dropout",
        "0",
        "--lambda2",
        "0.1",
        "--patience",
        "0",
        *TINY,
    )
    assert "model-best" in p.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    # trivial baseline (all O) has entity F1 = 0
    assert metrics["best_score"] > 0.6, metrics
    assert metrics["zero_resource"] is True
    lines = (out / "train_log.jsonl").read_text().splitlines()
    assert len(lines) == 12
    assert "epoch 12" in p.stderr  # plain progress lines when stderr is not a TTY
    cfg = json.loads((out / "model-best" / "config.json").read_text())
    assert cfg["training"]["lr"] == 0.02 and cfg["model"]["hidden_size"] == 16
    # existing output directory: refused without --force
    p = mltl(
        "train",
        "--sources",
        "en,es",
        "--target",
        "de",
        "--data",
        str(data),
        "--vectors",
        str(vec),
        "-o",
        str(out),
        check_rc=2,
    )
    assert "--force" in p.stderr and str(out) in p.stderr


def test_cli_resume_continues(toy, tmp_path):
    data, vec = toy
    out = tmp_path / "r"
    common = [
        "--sources",
        "en,es",
        "--target",
        "de",
        "--data",
        str(data),
        "--vectors",
        str(vec),
        "--steps-per-epoch",
        "3",
        "--lr",
        "0.02",
        *TINY,
    ]
    mltl("train", *common, "-o", str(out), "--max-steps", "3")
    mltl("train", "--resume", str(out), "--max-steps", "6")
    assert json.loads((out / "metrics.json").read_text())["steps"] == 6
    # --max-steps past --max-epochs × steps per epoch: the epoch cap wins, and says so
    p = mltl("train", "--resume", str(out), "--max-steps", "12", "--max-epochs", "3")
    assert "--max-steps 12 is past --max-epochs 3 × 3 iterations per epoch" in p.stderr
    assert "stops at step 9" in p.stderr and "--max-epochs 4 reaches step 12" in p.stderr
    assert json.loads((out / "metrics.json").read_text())["steps"] == 9
    p = mltl("train", "--resume", str(out), "--max-steps", "12", "--max-epochs", "4")
    assert "is past" not in p.stderr
    assert json.loads((out / "metrics.json").read_text())["steps"] == 12
    p = mltl("train", "--resume", str(out), "--lr", "0.5", check_rc=2)
    assert "--resume continues" in p.stderr


def test_cli_dry_run_and_help(toy):
    p = mltl(
        "train",
        "--task",
        "classification",
        "--sources",
        "en",
        "--target",
        "de",
        "--arch",
        "man",
        "--dry-run",
        "--set",
        "training.k=3",
    )
    cfg = json.loads(p.stdout)
    assert cfg["training"]["lambda1"] == 0.002 and cfg["training"]["k"] == 3
    assert cfg["model"]["c_moe"] is False and cfg["model"]["fp_moe"] is False and cfg["model"]["adversary"] is True
    h = mltl("train", "--help").stdout
    for s in (
        "--no-c-moe",
        "--no-fp-moe",
        "--no-adversary",
        "--lambda1",
        "tagging 0.0001",
        "classification 0.002",
        "--resume",
        "--target-dev",
        "--d-text",
        "--word-dropout",
        "--detach-gate",
        "tanh",
        "--float16",
    ):
        assert s in h, s


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--sources", "en,xx", "--target", "de"], "xx/train.jsonl"),
        (["--sources", "en,de", "--target", "de"], "also a source"),
        (["--sources", "en", "--target", "fr"], "fr/unlabeled.jsonl"),
        (["--sources", "en", "--target", "de", "--arch", "transformer"], "arch"),
    ],
)
def test_cli_bad_input(toy, tmp_path, args, needle):
    data, vec = toy
    out = tmp_path / "o"
    p = mltl("train", "--data", str(data), "--vectors", str(vec), "-o", str(out), *args, check_rc=2)
    assert needle in p.stderr and "Traceback" not in p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.strip()]) == 1, p.stderr
    assert not out.exists()


def test_cli_bad_vectors(toy, tmp_path):
    data, vec = toy
    bad = tmp_path / "vec"
    bad.mkdir()
    for lang in ("en", "es"):
        (bad / f"{lang}.vec").write_text((vec / f"{lang}.vec").read_text())
    (bad / "es.vec").write_text("1 3\nfoo 0.1 0.2 0.3\n")
    p = mltl(
        "train",
        "--data",
        str(data),
        "--vectors",
        str(bad),
        "-o",
        str(tmp_path / "o"),
        "--sources",
        "en,es",
        "--target",
        "de",
        check_rc=2,
    )
    assert "es.vec" in p.stderr and "dimension" in p.stderr
    p = mltl(
        "train",
        "--data",
        str(data),
        "--vectors",
        str(bad),
        "-o",
        str(tmp_path / "o"),
        "--sources",
        "en",
        "--target",
        "de",
        check_rc=2,
    )
    assert "de.vec" in p.stderr and "no vectors" in p.stderr
