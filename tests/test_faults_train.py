"""Issue 23 (faults a new user hit): vectors, checkpoints and run directories of
`mltl align` / `mltl train` / `mltl predict`, through the real CLI in subprocesses.

Each test checks the exit code, the one stderr line and what is left on disk.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_one_line_error, chain_train_args, run_cli

from mltl.runtime import THREAD_ENV_VARS

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")


def _tree(d: Path) -> dict[str, bytes]:
    """Every file under ``d`` with its bytes: what a failed command must leave as it was."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture
def run_copy(example_chain, tmp_path) -> Path:
    """A copy of the session's trained run directory (config.json, checkpoint/, model-*/)."""
    d = tmp_path / "run"
    shutil.copytree(example_chain / "model", d)
    return d


# ------------------------------------------------------------ 1. truncated fastText .bin


def test_truncated_fasttext_bin_is_refused_at_once(example_chain, tmp_path):
    # head -c 2000 vectors/de.bin > t_de.bin: fastText's loader would read past the end
    # and grow a string for minutes until std::bad_alloc.
    t_de = tmp_path / "t_de.bin"
    with open(example_chain / "vectors" / "de.bin", "rb") as f:
        t_de.write_bytes(f.read(2000))
    out = tmp_path / "out"
    t0 = time.monotonic()
    p = run_cli(
        "-q",
        "align",
        "--hub",
        "en",
        example_chain / "vectors" / "en.vec",
        t_de,
        "--langs",
        "en,de",
        "--method",
        "identical",
        "-o",
        out,
        timeout=120,
    )
    took = time.monotonic() - t0
    assert_one_line_error(p, f"{t_de}: truncated or not a fastText model", "dictionary")
    assert took < 30, took
    assert sorted(os.listdir(tmp_path)) == ["t_de.bin"]


def test_fasttext_bin_check_reads_the_header_and_sizes(example_chain, tmp_path):
    from mltl.embeddings.vectors import check_fasttext_bin
    from mltl.errors import InputError

    whole = example_chain / "vectors" / "de.bin"
    t0 = time.monotonic()
    check_fasttext_bin(whole)  # a whole model passes
    cut = tmp_path / "cut.bin"
    shutil.copyfile(whole, cut)
    os.truncate(cut, whole.stat().st_size - 4096)  # the dictionary is whole, a matrix is not
    with pytest.raises(
        InputError,
        match=r"cut\.bin: truncated or not a fastText model: the header declares "
        r"a [\d,]+ x 16 output matrix",
    ):
        check_fasttext_bin(cut)
    assert time.monotonic() - t0 < 5
    vec = tmp_path / "vec.bin"
    shutil.copyfile(example_chain / "vectors" / "de.vec", vec)  # a text file named .bin
    with pytest.raises(InputError, match="wrong magic number"):
        check_fasttext_bin(vec)
    newer = tmp_path / "newer.bin"
    with open(whole, "rb") as f:
        head = bytearray(f.read(4096))
    head[4:8] = (13).to_bytes(4, "little")
    newer.write_bytes(bytes(head))
    with pytest.raises(InputError, match="format version 13"):
        check_fasttext_bin(newer)


# ------------------------------------------------------------ 2. files that are no checkpoint


def _blocked_global(p: Path) -> None:
    torch.save({"w": os.system}, p)  # a real torch file whose pickle names os.system


BAD_CHECKPOINT_FILES = {
    "text": lambda p: p.write_text("not a checkpoint\n"),
    "random": lambda p: p.write_bytes(random.Random(23).randbytes(4096)),
    "blocked_global": _blocked_global,
}


@pytest.mark.parametrize("case", sorted(BAD_CHECKPOINT_FILES))
def test_predict_with_weights_that_are_no_checkpoint(example_chain, tmp_path, case):
    m = tmp_path / "m"
    shutil.copytree(example_chain / "model" / "model-best", m)
    BAD_CHECKPOINT_FILES[case](m / "weights.pt")
    (tmp_path / "x.txt").write_text("Berlin\n", encoding="utf-8")
    before = _tree(m)
    p = run_cli("-q", "predict", "--model", m, tmp_path / "x.txt")
    line = assert_one_line_error(p, f"{m / 'weights.pt'}: file is corrupt, truncated or not an mltl checkpoint")
    assert "weights_only" not in p.stderr and "internal error" not in line
    if case == "blocked_global":
        assert "system" in line
    assert p.stdout == ""
    assert _tree(m) == before


@pytest.mark.parametrize("case", ["text", "blocked_global"])
def test_resume_with_a_trainer_state_that_is_no_checkpoint(run_copy, case):
    BAD_CHECKPOINT_FILES[case](run_copy / "checkpoint" / "trainer.pt")
    before = _tree(run_copy)
    p = run_cli("-q", "train", "--resume", run_copy, "--max-steps", "100")
    assert_one_line_error(
        p, f"{run_copy / 'checkpoint' / 'trainer.pt'}: file is corrupt, truncated or not an mltl checkpoint"
    )
    assert "weights_only" not in p.stderr
    assert _tree(run_copy) == before  # 5.: config.json not rewritten either
    assert sorted(os.listdir(run_copy.parent)) == ["run"]  # no lock file left


# ------------------------------------------------------------ 3. one training per directory


def test_second_training_on_a_directory_in_use_exits_2(example_chain, tmp_path):
    out = tmp_path / "same"
    lock = tmp_path / ".same.lock"
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="200")
    # A first run that trains until it is stopped (no evaluation before the end).
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mltl",
            *map(str, chain_train_args(example_chain, out)),
            "--force",
            "--seed",
            "1",
            "--max-steps",
            "1000000",
            "--max-epochs",
            "1000",
            "--steps-per-epoch",
            "1000000",
            "--checkpoint-every",
            "0",
            "--patience",
            "0",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 300
        while not (lock.exists() or (out / "config.json").exists()):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never started writing"
            time.sleep(0.05)
        assert lock.exists(), "the first run writes without holding a lock"
        second = run_cli(*chain_train_args(example_chain, out), "--force", "--seed", "2", "--max-steps", "5")
        assert_one_line_error(second, f"{out}: is in use by another mltl train (pid {first.pid})")
        again = run_cli("-q", "train", "--resume", out, "--max-steps", "5")
        assert_one_line_error(again, f"{out}: is in use by another mltl train (pid {first.pid})")
        assert first.poll() is None  # the first run goes on undisturbed
        assert lock.read_text().strip() == str(first.pid)
        assert json.loads((out / "config.json").read_text())["training"]["seed"] == 1
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGINT)  # Ctrl-C: finish the iteration, checkpoint, stop
        _, err = first.communicate(timeout=300)
    assert first.returncode == 130, err
    assert "interrupted at step" in err
    assert sorted(os.listdir(tmp_path)) == ["same"]  # the lock file went with its run
    assert sorted(os.listdir(out)) == ["checkpoint", "config.json", "metrics.json", "model-last"]
    assert json.loads((out / "config.json").read_text())["training"]["seed"] == 1


# ------------------------------------------------------------ 4. options checked before writing


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--device", "tpu"], ["unknown --device 'tpu'; choose from auto, cpu, cuda, cuda:N"]),
        (["--device", "cuda:99"], ["--device cuda:99: "]),  # no GPU here, or not 100 of them
        (["--expert-activation", "swish"], ["unknown --expert-activation 'swish'; choose from tanh, relu, none"]),
    ],
)
def test_bad_option_leaves_no_run_directory(example_chain, tmp_path, args, fragments):
    p = run_cli(*chain_train_args(example_chain, tmp_path / "m"), "--max-steps", "2", *args)
    assert_one_line_error(p, *fragments)
    assert os.listdir(tmp_path) == []  # no m/config.json: the next run needs no --force


# ------------------------------------------------------------ 5. a failed --resume changes nothing


@pytest.mark.parametrize("case", ["no_checkpoint", "bad_device"])
def test_failed_resume_leaves_the_run_directory_untouched(run_copy, case):
    extra: list[str] = []
    if case == "no_checkpoint":
        shutil.rmtree(run_copy / "checkpoint")
        fragments = [f"{run_copy / 'checkpoint'}: no checkpoint to resume from"]
    else:
        extra = ["--device", "tpu"]
        fragments = ["unknown --device 'tpu'"]
    before = _tree(run_copy)
    p = run_cli("-q", "train", "--resume", run_copy, "--max-steps", "100", *extra)
    assert_one_line_error(p, *fragments)
    assert _tree(run_copy) == before
    assert sorted(os.listdir(run_copy.parent)) == ["run"]


# ------------------------------------------------------------ 11. model languages are codes, not paths


@pytest.mark.parametrize("bad", ["../x", "../../etc/passwd"])
def test_model_languages_are_checked_before_they_name_files(example_chain, tmp_path, bad):
    m = tmp_path / "m"
    shutil.copytree(example_chain / "model" / "model-best", m)
    marker = json.loads((m / "mltl-model.json").read_text())
    marker["languages"].append(bad)
    (m / "mltl-model.json").write_text(json.dumps(marker))
    # What vocab/../x.txt and vectors/../x.npy name: files that exist, so the old code read them.
    shutil.copyfile(m / "vocab" / "de.txt", m / "x.txt")
    shutil.copyfile(m / "vectors" / "de.npy", m / "x.npy")
    (tmp_path / "in.txt").write_text("Berlin\n", encoding="utf-8")
    before = _tree(m)
    p = run_cli("-q", "predict", "--model", m, tmp_path / "in.txt")
    assert_one_line_error(p, f"{m / 'mltl-model.json'}: languages: unknown language code {bad!r}; supported: ")
    assert p.stdout == ""
    assert _tree(m) == before


# ------------------------------------------------------------ 10. .vec header row count


def _short_vec(src: Path, dst: Path, keep: int) -> int:
    """``dst``: the header of ``src`` (its row count) over only its first ``keep`` rows."""
    lines = src.read_text(encoding="utf-8").splitlines()
    n = int(lines[0].split()[0])
    assert n > keep
    dst.write_text("\n".join([lines[0], *lines[1 : 1 + keep]]) + "\n", encoding="utf-8")
    return n


@pytest.mark.parametrize("max_vocab", [[], ["--max-vocab", "200"], ["--max-vocab", "1000000"]])
def test_align_checks_the_vec_header_count_with_max_vocab(example_chain, tmp_path, max_vocab):
    t_de = tmp_path / "t_de.vec"
    n = _short_vec(example_chain / "vectors" / "de.vec", t_de, 200)
    p = run_cli(
        "-q",
        "align",
        "--hub",
        "en",
        example_chain / "vectors" / "en.vec",
        t_de,
        "--langs",
        "en,de",
        "--method",
        "identical",
        "-o",
        tmp_path / "out",
        *max_vocab,
    )
    assert_one_line_error(p, f"{t_de}:1: header says {n} vectors but the file has 200")
    assert sorted(os.listdir(tmp_path)) == ["t_de.vec"]


def test_train_checks_the_vec_header_count(example_chain, tmp_path):
    vec = tmp_path / "vec"
    vec.mkdir()
    for lang in ("en", "es"):
        shutil.copyfile(example_chain / "aligned" / f"{lang}.vec", vec / f"{lang}.vec")
    n = _short_vec(example_chain / "aligned" / "de.vec", vec / "de.vec", 200)
    p = run_cli(*chain_train_args(example_chain, tmp_path / "m", vectors=vec), "--max-steps", "2")
    assert_one_line_error(p, f"{vec / 'de.vec'}:1: header says {n} vectors but the file has 200")
    assert sorted(os.listdir(tmp_path)) == ["vec"]


def test_vec_header_count_in_the_reader(tmp_path):
    from mltl.embeddings.vectors import load_vectors
    from mltl.errors import InputError

    p = tmp_path / "v.vec"
    p.write_text("5 2\na 1 2\nb 3 4\nc 5 6\n", encoding="utf-8")
    assert load_vectors(p, max_vocab=2).words == ["a", "b"]  # not read to its end: not judged
    for mv in (3, 4, None):
        with pytest.raises(InputError, match=r"v\.vec:1: header says 5 vectors but the file has 3"):
            load_vectors(p, max_vocab=mv)
    p.write_text("2 2\na 1 2\nb 3 4\nc 5 6\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"v\.vec:4: header says 2 vectors but the file has more"):
        load_vectors(p, max_vocab=10)
    d = tmp_path / "d.vec"
    d.write_text("3 2\na 1 2\na 3 4\nb 5 6\n", encoding="utf-8")  # duplicates are rows too
    assert load_vectors(d, duplicates="first").words == ["a", "b"]
    d.write_text("4 2\na 1 2\na 3 4\nb 5 6\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.vec:1: header says 4 vectors but the file has 3"):
        load_vectors(d, duplicates="first")
