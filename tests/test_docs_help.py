"""Issue 23, row 15 (docs and --help) and leftovers, through the real CLI: the README's
short tour runs as written on the shipped data, --help says what the options do, `mltl
embed` sizes its n-gram table to the corpus, SIGTERM during train is named as such, and
predict/evaluate check --device as train does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT, TINY_MODEL, assert_one_line_error, run_cli, wait_for_file

from mltl.runtime import THREAD_ENV_VARS

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow


def help_text(*cmd: str) -> str:
    proc = run_cli(*cmd, "--help", check=True)
    # one line per option row: the table's borders and wrapping removed
    return " ".join(" ".join(ln.strip(" │╭╮╰╯─").split()) for ln in proc.stdout.splitlines())


# --- c. prepare: "[test]" is text, not rich markup --------------------------------------------------


def test_prepare_help_keeps_the_brackets():
    assert "Input files: train [dev [test]] (or any number with --split)" in help_text("prepare")


# --- d. align --max-iters: what it bounds -----------------------------------------------------------


def test_align_help_says_what_max_iters_bounds():
    h = help_text("align")
    assert "--max-iters <int> Max iterations of the final refinement" in h
    assert "Not the stochastic dictionary induction that --method unsupervised runs before it" in h


# --- f. boolean flags take no value: no <bool> in --help ---------------------------------------------


@pytest.mark.parametrize("cmd", [(), ("prepare",), ("train",), ("embed",)])
def test_flags_show_no_type(cmd):
    h = help_text(*cmd)
    assert "<bool>" not in h
    assert re.search(r"--help -h Show this message and exit\.", h), h
    if cmd == ("prepare",):
        assert "--repair Repair invalid tag sequences" in h and "--seed <int>" in h
    if cmd == ("train",):
        assert "--amp --no-amp bfloat16 autocast" in h


# --- h. predict and evaluate check --device as train does ---------------------------------------------

DE_TEST = EXAMPLES / "ner" / "de" / "test.txt"


@pytest.mark.parametrize("cmd", ["predict", "evaluate"])
@pytest.mark.parametrize("device", ["cudax", "cuda:x", "gpu"])
def test_a_device_that_is_no_device_lists_the_accepted_ones(cmd, device, tmp_path):
    proc = run_cli(cmd, "--device", device, "--model", tmp_path / "model", DE_TEST)
    assert_one_line_error(proc, f"unknown --device {device!r}; choose from auto, cpu, cuda, cuda:N")


@pytest.mark.parametrize("cmd", ["predict", "evaluate"])
def test_a_gpu_that_is_not_there_is_named_as_train_names_it(cmd, tmp_path):
    proc = run_cli("-q", cmd, "--device", "cuda:99", "--model", tmp_path / "model", DE_TEST)
    line = assert_one_line_error(proc, "--device cuda:99: ")  # no GPU here, or not 100 of them
    assert "no CUDA GPU is available here (use --device cpu or auto)" in line or "GPU(s) present" in line


# --- g. SIGTERM during train: the trainer's message names SIGTERM -------------------------------------


def test_sigterm_during_train_is_named_sigterm(tmp_path):
    from toydata import make_toy_data

    data, vec = make_toy_data(
        tmp_path / "toy",
        ["en", "es", "de"],
        unlabeled_only=("de",),
        n_concepts=30,
        n_train=160,
        n_dev=40,
        n_unlabeled=80,
    )
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="200")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mltl",
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
            "--max-steps",
            "100000",
            "--max-epochs",
            "1000",
            "--patience",
            "0",
            "--checkpoint-every",
            "2",
            *TINY_MODEL,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    wait_for_file(out / "checkpoint" / "trainer.pt", proc, what="the first checkpoint")  # training has begun
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "SIGTERM: saving a checkpoint after this iteration, then stopping" in err, err
    assert "Ctrl-C" not in err.replace("SIGTERM or Ctrl-C again to abort", ""), err
    assert err.strip().splitlines()[-1].startswith("error: interrupted at step"), err
    assert (out / "checkpoint" / "trainer.pt").is_file() and (out / "model-last").is_dir()


# --- e. the README's test command runs the plugins' tests too, and CI runs exactly it -----------------


def readme_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_ci_runs_the_readmes_test_command():
    install = next(b for b in readme_blocks() if "pytest" in b)
    command = install.strip().rsplit("&&", 1)[-1].strip()
    assert command == "python -m pytest -q -n 2 tests plugins/*/tests"
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert command in ci
    # after it, only the Label Studio integration test (tests/test_labelstudio_server.py)
    assert ci[-1].endswith("python -m pytest -q -m integration tests/test_labelstudio_server.py")
    assert list(ROOT.glob("plugins/*/tests/test_*.py")), "the glob finds no plugin tests"


# --- b. embed sizes fastText's n-gram table to the corpus unless --bucket is given ---------------------

EN_TEXT = EXAMPLES / "unlabeled" / "en.txt"


def embed_json(*args) -> dict:
    return json.loads(run_cli("-q", "embed", *args, "--json", check=True).stdout)


def test_a_tiny_corpus_with_the_defaults_gives_a_small_bin(tmp_path):
    # the command: every default (dim 300); 137 words with count >= 5
    s = embed_json("--lang", "en", EN_TEXT, "-o", tmp_path / "en")
    assert s["config"]["bucket"] == 10_000 and s["vocab"] < 500
    size = (tmp_path / "en.bin").stat().st_size
    assert size < 15_000_000, size  # fastText's 2,000,000 buckets: 2.4 GB


def test_the_bucket_grows_with_the_vocabulary(tmp_path):
    s = embed_json(
        "--lang", "de", EXAMPLES / "unlabeled" / "de.txt", "--min-count", "1", "--dim", "16", "-o", tmp_path / "de"
    )
    words = s["vocab"] - 1  # fastText's vocabulary has </s> besides the words
    assert words > 1000 and s["config"]["bucket"] == 20 * words


def test_an_explicit_bucket_is_kept(tmp_path):
    s = embed_json("--lang", "en", EN_TEXT, "--dim", "16", "--bucket", "50000", "-o", tmp_path / "en")
    assert s["config"]["bucket"] == 50_000
    assert (tmp_path / "en.bin").stat().st_size > 50_000 * 16 * 4
    proc = run_cli("embed", "--lang", "en", EN_TEXT, "--bucket", "-1", "-o", tmp_path / "neg")
    assert_one_line_error(proc, "--bucket must be 0 or more, got -1")
    assert list(tmp_path.glob("neg*")) == []


# --- a. the README's short tour runs as written on the shipped data ------------------------------------


def tour_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"## A short tour\n.*?```bash\n(.*?)```", text, re.S).group(1)


def test_the_readme_tour_runs_as_written(tmp_path):
    block = tour_block()
    assert block.startswith("mltl info") and "\nmltl plugins" in block
    for cmd in ("prepare", "embed", "align", "train", "predict", "evaluate"):
        assert re.search(rf"^\s*mltl {cmd} ", block, re.M), cmd
    # The repository root as the tour sees it: the shipped data, and out/ for what it writes.
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = (
        'set -euo pipefail\nmltl() { "$MLTL_PYTHON" -m mltl "$@"; }\n'  # this checkout's mltl
        "set -x\n" + block
    )
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="200", MLTL_PYTHON=sys.executable)
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out" / "tour"
    for lang in ("en", "es", "de"):
        assert (out / "data" / lang / "train.jsonl").is_file() and (out / "data" / lang / "unlabeled.jsonl").is_file()
        assert (out / "aligned" / f"{lang}.vec").is_file()
        assert (out / "vectors" / f"{lang}.bin").stat().st_size < 20_000_000  # buckets sized to the corpus
    assert sorted(p.name for p in (out / "cls" / "fr").glob("*.jsonl")) == ["dev.jsonl", "test.jsonl", "train.jsonl"]
    assert (out / "text" / "zh" / "unlabeled.jsonl").is_file()
    assert (out / "model" / "model-best").is_dir()
    n_lines = sum(
        1 for ln in (EXAMPLES / "unlabeled" / "de.txt").read_text(encoding="utf-8").splitlines() if ln.strip()
    )
    tags = [json.loads(ln) for ln in (out / "tags.jsonl").read_text(encoding="utf-8").splitlines()]
    assert tags and len(tags) >= n_lines
    assert (out / "gates.png").stat().st_size > 0
    assert "micro" in proc.stdout  # evaluate's table
