"""Shared test helpers: run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The same thread plan as the CLI (mltl/runtime.py) for tests that use torch in-process:
# before torch is imported, so that libgomp starts with it.
from mltl.runtime import THREAD_ENV_VARS, configure_threads

configure_threads()

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


def run_cli(
    *args: str, input: str | bytes | None = None, cwd: str | Path | None = None, check: bool = False, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m mltl ARGS`` and capture text output."""
    # The CLI's own thread defaults, not the ones this pytest process got: a plain user's run.
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "mltl", *map(str, args)],
        input=input,
        cwd=cwd,
        capture_output=True,
        text=not isinstance(input, bytes),
        env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"mltl {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 120, what: str = "the file") -> None:
    """Poll until ``path`` exists (e.g. a run's first checkpoint); fail if ``proc`` ends or stalls first."""
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"process ended or stalled before {what} appeared ({path}): {out!r} {err!r}")
        time.sleep(0.05)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    """Exit code ``code`` and exactly one non-empty stderr line containing every fragment."""
    err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == code, (proc.returncode, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]


@pytest.fixture
def cli():
    return run_cli


TINY_MODEL = [
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
    "2",
]


def chain_train_args(w: Path, out: Path, vectors: Path | None = None) -> list:
    """``mltl -q train`` of the tiny model on the example chain ``w`` (en,es → de) into ``out``."""
    return [
        "-q",
        "train",
        "--task",
        "tagging",
        "--sources",
        "en,es",
        "--target",
        "de",
        "--data",
        w / "data",
        "--vectors",
        vectors or w / "aligned",
        "-o",
        out,
        *TINY_MODEL,
    ]


def built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(dir)`` run once for all pytest-xdist workers of this session, the others wait.

    The workers share the parent of their base temp dirs; a lock file there serialises
    them and a marker says the build finished. Without this, each of the 2 workers built
    the same example chain (about 40 s of CPU on 2 cores). What is built is read-only."""
    import fcntl
    import shutil

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    d = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (d / ".built").exists():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            build(d)
            (d / ".built").touch()
    return d


@pytest.fixture(scope="session")
def example_chain(tmp_path_factory):
    """The README chain on the shipped examples, small and fast: embed -> align -> prepare -> train.

    Returns the work dir holding vectors/, aligned/ (en hub; de, es, nl mapped), data/ and model/.
    Built once per test session (shared by the xdist workers); tests must not write into it.
    """
    return built_once(tmp_path_factory, "example-chain", _build_example_chain)


def _build_example_chain(w: Path) -> None:
    def one_language(lang: str) -> None:  # prepare -> embed; the languages are independent
        d = EXAMPLES / "ner" / lang
        run_cli(
            "-q",
            "prepare",
            "--lang",
            lang,
            d / "train.txt",
            d / "dev.txt",
            d / "test.txt",
            "--unlabeled-text",
            EXAMPLES / "unlabeled" / f"{lang}.txt",
            "-o",
            w / "data" / lang,
            check=True,
        )
        run_cli(
            "-q",
            "embed",
            "--lang",
            lang,
            w / "data" / lang / "unlabeled.jsonl",
            w / "data" / lang / "train.jsonl",
            "-o",
            w / "vectors" / lang,
            "--dim",
            "16",
            "--min-count",
            "1",
            "--epoch",
            "5",
            "--threads",
            "1",
            check=True,
        )

    # Two languages at a time: each step is mostly interpreter start-up and imports (2 cores).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one_language, ("en", "de", "es", "nl")))
    run_cli(
        "-q",
        "align",
        "--hub",
        "en",
        *(w / "vectors" / f"{x}.vec" for x in ("en", "de", "es", "nl")),
        "--method",
        "identical",
        "-o",
        w / "aligned",
        check=True,
    )
    run_cli(*chain_train_args(w, w / "model"), "--max-steps", "40", "--seed", "1", check=True)
