"""CPU thread defaults (mltl/runtime.py): what the CLI applies before torch loads, and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mltl.runtime import SPIN_COUNT, THREAD_ENV_VARS, cgroup_cpu_limit, plan


def info(env_add: dict[str, str], affinity: set[int] | None = None) -> dict:
    """``mltl info --json`` in a child with exactly these thread variables set."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(env_add)
    pre = (lambda: os.sched_setaffinity(0, affinity)) if affinity else None
    proc = subprocess.run(
        [sys.executable, "-m", "mltl", "info", "--json"],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=pre,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["threads"]


def test_cli_defaults_short_spin_and_usable_cpus():
    th = info({})
    n = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_limit()
    if quota is not None:
        n = min(n, max(1, -(-quota // 1)))
    assert th["torch_threads"] == th["threads"] == n
    assert th["wait"] == f"GOMP_SPINCOUNT={SPIN_COUNT}"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        assert th["set_by_mltl"][var] == str(n)
    assert th["set_by_mltl"]["GOMP_SPINCOUNT"] == str(SPIN_COUNT)


def test_user_settings_win():
    th = info({"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"})
    assert th["torch_threads"] == 1
    assert th["wait"] == "OMP_WAIT_POLICY=PASSIVE" and th["wait_reason"] == "set by you"
    assert "set by you" in th["threads_reason"]
    # the other pools follow the user's count; nothing the user set is overwritten
    assert th["set_by_mltl"] == {"MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to restrict to 1")
def test_affinity_restricts_threads():
    th = info({}, affinity={min(os.sched_getaffinity(0))})
    assert th["torch_threads"] == 1 and "affinity 1" in th["threads_reason"]


def test_cgroup_v2_quota_and_parents(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "a" / "b" / "cpu.max").write_text("max 100000\n")
    cg = tmp_path / "cgroup"
    cg.write_text("0::/a/b\n")
    assert cgroup_cpu_limit(tmp_path, cg) == 1.5
    (tmp_path / "a" / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path, cg) is None


def test_cgroup_v1_quota(tmp_path):
    d = tmp_path / "cpu,cpuacct" / "job"
    d.mkdir(parents=True)
    (d / "cpu.cfs_quota_us").write_text("100000\n")
    (d / "cpu.cfs_period_us").write_text("100000\n")
    cg = tmp_path / "cgroup"
    cg.write_text("4:cpu,cpuacct:/job\n")
    assert cgroup_cpu_limit(tmp_path, cg) == 1.0
    (d / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path, cg) is None


def test_plan_uses_quota_below_affinity():
    p = plan({}, cpus=(3, "affinity 8, cgroup quota 2.5 CPUs"))
    assert p.threads == 3 and p.set_by_mltl["OMP_NUM_THREADS"] == "3"
    assert plan({"GOMP_SPINCOUNT": "0"}, cpus=(2, "x")).set_by_mltl.get("GOMP_SPINCOUNT") is None
