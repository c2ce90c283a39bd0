"""Shared test helpers: run the real CLI in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


def run_cli(*args: str, input: str | bytes | None = None, cwd: str | Path | None = None,
            check: bool = False, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python -m mltl ARGS`` and capture text output."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8", COLUMNS="200", OMP_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, "-m", "mltl", *map(str, args)], input=input, cwd=cwd,
                          capture_output=True, text=not isinstance(input, bytes), env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"mltl {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


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
