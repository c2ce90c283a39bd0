"""`torchrun -m mltl train|predict` on CPU (gloo, 2 processes), `predict --shard` and `mltl merge`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, assert_one_line_error, chain_train_args, run_cli

from mltl.errors import InputError
from mltl.runtime import THREAD_ENV_VARS


def torchrun_cmd(*args: str, nproc: int = 2, monitor_interval: float | None = None) -> list[str]:
    watch = ["--monitor-interval", str(monitor_interval)] if monitor_interval is not None else []
    return [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--standalone", *watch] + [
        "-m",
        "mltl",
        *map(str, args),
    ]


def torchrun_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="200", OMP_NUM_THREADS="1")
    return env


def torchrun(*args: str, nproc: int = 2, timeout: int = 240) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        torchrun_cmd(*args, nproc=nproc), capture_output=True, text=True, env=torchrun_env(), timeout=timeout
    )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-3000:])
    return proc


def train_args(chain: Path, out: Path, steps: int) -> list[str]:
    # the tiny model, one thread per rank (2 ranks on 2 cores: the last --threads wins)
    args = [*chain_train_args(chain, out), "--max-steps", steps, "--steps-per-epoch", 6, "--seed", 3, "--threads", 1]
    return [str(a) for a in args]


@pytest.mark.slow
def test_two_ranks_train_one_model_reproducibly_and_resume(example_chain: Path, tmp_path: Path) -> None:
    import torch

    a, b = tmp_path / "a", tmp_path / "b"
    out = torchrun(*train_args(example_chain, a, 12))
    assert out.stdout.count("model-best") == 1  # rank 0 alone reports
    assert sorted(p.name for p in a.iterdir()) == [
        "checkpoint",
        "config.json",
        "metrics.json",
        "model-best",
        "model-last",
        "train_log.jsonl",
    ]
    metrics = json.loads((a / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == 12
    log_a = [json.loads(x) for x in (a / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log_a] == [6, 12]  # one line per evaluation, from rank 0 only

    # The same seed again, stopped at step 6 and resumed on 2 ranks: the same run, to the last bit.
    torchrun(*train_args(example_chain, b, 6))
    torchrun("-q", "train", "--resume", str(b), "--max-steps", "12")
    log_b = [json.loads(x) for x in (b / "train_log.jsonl").read_text().splitlines()]
    keys = ("step", "J", "J_C", "J_D", "J_G1", "J_G2", "D_acc", "dev", "score")
    assert [{k: r[k] for k in keys} for r in log_b] == [{k: r[k] for k in keys} for r in log_a]
    wa = torch.load(a / "checkpoint" / "weights.pt", weights_only=True)
    wb = torch.load(b / "checkpoint" / "weights.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)

    # 2 ranks draw other batches than 1 process: the 1-process run of this seed differs
    # (in-process, as a notebook would call it: no interpreter start-up)
    from mltl.cli import app
    from mltl.training import resume

    c = tmp_path / "c"
    app(train_args(example_chain, c, 6), standalone_mode=False)
    log_c = json.loads((c / "train_log.jsonl").read_text().splitlines()[0])
    assert log_c["J"] != log_b[0]["J"]
    # and a 2-rank checkpoint is resumed by 2 ranks only
    with pytest.raises(InputError, match=r"checkpoint is of a run on 2 process\(es\) and this is 1"):
        resume(b, {"max_steps": 18})
    assert json.loads((b / "metrics.json").read_text())["steps"] == 12  # the failed resume wrote nothing


@pytest.mark.slow
def test_two_ranks_predict_equals_one_process(example_chain: Path, tmp_path: Path) -> None:
    model = example_chain / "model" / "model-best"
    text = tmp_path / "de.txt"
    text.write_text("\n".join((EXAMPLES / "unlabeled" / "de.txt").read_text().splitlines()[:41]) + "\n")
    conll = EXAMPLES / "ner" / "de" / "test.txt"
    one, two = tmp_path / "one", tmp_path / "two"
    from mltl.cli import app  # the 1-process reference in-process: no interpreter start-up

    app(
        ["-q", "predict", "--model", str(model), str(text), str(conll), "--scores", "-o", str(one)],
        standalone_mode=False,
    )
    torchrun("-q", "predict", "--model", str(model), str(text), str(conll), "--scores", "-o", str(two))
    assert sorted(p.name for p in two.iterdir()) == ["de.txt.jsonl", "test.txt.conll"]  # no part left behind
    for name in ("de.txt.jsonl", "test.txt.conll"):
        assert (two / name).read_bytes() == (one / name).read_bytes(), name
    assert len((two / "de.txt.jsonl").read_text().splitlines()) == 41


def test_shard_parts_merged_equal_the_whole(example_chain: Path, tmp_path: Path) -> None:
    """Three `--shard I/3` runs and `mltl merge` give the bytes of one run (in-process: no start-up cost)."""
    from mltl.cli import app

    model = str(example_chain / "model" / "model-best")
    src = str(EXAMPLES / "ner" / "de" / "test.txt")

    def mltl(*args: str) -> None:
        app(["-q", *args], standalone_mode=False)

    mltl("predict", "--model", model, src, "--format", "jsonl", "-o", str(tmp_path / "whole.jsonl"))
    for i in (2, 0, 1):
        mltl("predict", "--model", model, src, "--format", "jsonl", "--shard", f"{i}/3", "-o", str(tmp_path / f"p{i}"))
    parts = [tmp_path / f"p{i}" for i in range(3)]
    assert all(p.stat().st_size > 0 for p in parts)  # the 10 sentences are spread over all three
    mltl("merge", *map(str, reversed(parts)), "-o", str(tmp_path / "merged.jsonl"))
    assert (tmp_path / "merged.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    m = json.loads((tmp_path / "p1.shard.json").read_text())
    assert m["shard"] == 1 and m["of"] == 3 and m["format"] == "jsonl"


def test_shard_and_merge_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    proc = run_cli("predict", "--model", "nowhere", "-", "--shard", "0/2", "-o", str(tmp_path / "x"), input="a\n")
    assert_one_line_error(proc, "stdin cannot be split into shards")
    proc = run_cli("merge", str(tmp_path / "missing.jsonl"))
    assert_one_line_error(proc, "missing.jsonl", "no such file")


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.slow
def test_a_killed_rank_ends_the_job_with_one_clear_line(example_chain: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [a for a in train_args(example_chain, out, 100_000) if a != "-q"]  # errors are printed either way
    # torchrun itself SIGTERMs the survivors once it sees a dead worker (every 0.1 s by default).
    # On a loaded machine that came first (exit 143, no line of ours): this test is about the
    # survivors' own detection, so torchrun looks every 5 s and rank 0 reaches its next collective.
    proc = subprocess.Popen(
        torchrun_cmd(*args, monitor_interval=5),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=torchrun_env(),
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint").exists():  # both ranks are training, a checkpoint is written
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        os.kill(workers[-1], signal.SIGKILL)
        _, err = proc.communicate(timeout=90)  # no hang: the other rank notices at its next collective
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "lost contact with the other ranks" in err, err[-2000:]
    assert "mltl/training" not in err and "mltl/distributed" not in err  # one line, not a traceback of ours
    assert (out / "checkpoint" / "weights.pt").is_file()  # the last checkpoint is whole
