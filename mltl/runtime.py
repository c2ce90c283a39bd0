"""CPU threads for mltl's commands: how many, and how they wait.

Why this exists: PyTorch's CPU wheel runs its intra-op parallelism on libgomp
(GNU OpenMP). With no wait policy set, libgomp's worker threads busy-wait at every
barrier for up to ``GOMP_SPINCOUNT`` = 300,000 spins before they sleep. A batch-16
BiLSTM step is thousands of small parallel regions, so on a machine where other
processes want the cores the spinning threads keep being scheduled instead of the
thread that would end the barrier: training ran at 67 tokens/s instead of ~1,500
beside two other jobs (issue 16), and our spinning took the cores from those jobs too.

What mltl does, once, before torch (or numpy's BLAS) is loaded, and only for what the
user has not set:

- **thread count** = the CPUs this process may use: its affinity mask
  (``os.sched_getaffinity``; ``taskset``, Slurm and Kubernetes cpusets restrict it) and
  the cgroup CPU quota (``cpu.max`` / ``cpu.cfs_quota_us``; Docker ``--cpus``, CI runners),
  whichever is smaller, into ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
  ``OPENBLAS_NUM_THREADS`` so that PyTorch, MKL and numpy's OpenBLAS agree instead of
  each sizing its own pool from the host's core count;
- **wait policy**: a short spin (``GOMP_SPINCOUNT``, :data:`SPIN_COUNT`) — long enough
  that an idle machine keeps the speed of spinning, short enough that a waiting thread
  gives its core away under load. Measured by ``bench/bench_load.py`` (docs/benchmarks.md,
  "Speed on a shared machine").

``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set by the user wins over the spin, and
``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` over the count;
``mltl train --threads N`` still sets torch's count for that run. ``mltl info`` shows
the result and why.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, MutableMapping

# libgomp spins this many times at a barrier before it sleeps (its own default with no
# policy set is 300,000). Chosen with bench/bench_load.py; see the module docstring.
SPIN_COUNT = 1000
COUNT_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
THREAD_ENV_VARS = COUNT_VARS + WAIT_VARS


@dataclass
class ThreadPlan:
    """What mltl uses for CPU threads and why (shown by ``mltl info``)."""

    threads: int
    threads_reason: str
    wait: str
    wait_reason: str
    set_by_mltl: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def cgroup_cpu_limit(
    root: str | Path = "/sys/fs/cgroup", proc_cgroup: str | Path = "/proc/self/cgroup"
) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or None when unlimited.

    cgroup v2: ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD") of the process's cgroup and
    of every ancestor (a parent's limit binds its children); cgroup v1: ``cpu.cfs_quota_us``
    / ``cpu.cfs_period_us``. Unreadable files mean no limit known.
    """
    root = Path(root)
    limits: list[float] = []
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, rel = parts
        rel = rel.lstrip("/")
        if hier == "0" and controllers == "":  # v2 unified hierarchy
            d = root / rel
            while True:
                q = _read_v2(d / "cpu.max")
                if q is not None:
                    limits.append(q)
                if d == root or root not in d.parents:
                    break
                d = d.parent
        elif "cpu" in controllers.split(","):  # v1
            for base in (root / "cpu", root / "cpu,cpuacct", root / controllers):
                q = _read_v1(base / rel) or _read_v1(base)
                if q is not None:
                    limits.append(q)
                    break
    return min(limits) if limits else None


def _read_v2(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _read_v1(d: Path) -> float | None:
    try:
        quota = int((d / "cpu.cfs_quota_us").read_text())
        period = int((d / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def usable_cpus() -> tuple[int, str]:
    """(CPUs this process may use, how that was found)."""
    try:
        affinity = len(os.sched_getaffinity(0))
        why = f"affinity {affinity}"
    except (AttributeError, OSError):  # not Linux
        affinity = os.cpu_count() or 1
        why = f"cpu_count {affinity}"
    quota = cgroup_cpu_limit()
    if quota is not None and math.ceil(quota) < affinity:
        return max(1, math.ceil(quota)), f"{why}, cgroup quota {quota:g} CPUs"
    return max(1, affinity), why + (f", cgroup quota {quota:g} CPUs" if quota is not None else ", no cgroup quota")


def plan(environ: Mapping[str, str] | None = None, cpus: tuple[int, str] | None = None) -> ThreadPlan:
    """The thread settings mltl would apply to ``environ`` (pure: changes nothing)."""
    env = os.environ if environ is None else environ
    n, why = cpus or usable_cpus()
    set_env: dict[str, str] = {}
    user_count = next((v for v in COUNT_VARS if env.get(v)), None)
    if user_count:
        try:
            threads = max(1, int(env[user_count].split(",")[0]))
        except ValueError:
            threads = n
        reason = f"{user_count}={env[user_count]} (set by you)"
    else:
        threads, reason = n, f"CPUs this process may use ({why})"
    for v in COUNT_VARS:
        if not env.get(v):
            set_env[v] = str(threads)
    user_wait = [v for v in WAIT_VARS if env.get(v)]
    if user_wait:
        wait = ", ".join(f"{v}={env[v]}" for v in user_wait)
        wait_reason = "set by you"
    else:
        set_env["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        wait = f"GOMP_SPINCOUNT={SPIN_COUNT}"
        wait_reason = "mltl default: a short spin, then sleep (fast idle, fair under load)"
    return ThreadPlan(threads, reason, wait, wait_reason, set_env)


_applied: ThreadPlan | None = None


def configure_threads(environ: MutableMapping[str, str] | None = None) -> ThreadPlan:
    """Apply :func:`plan` to the environment (once per process) and return it.

    Must run before torch or numpy is imported: libgomp and OpenBLAS read these
    variables when they are loaded. When torch is already loaded (a notebook), the
    count still reaches torch through ``torch.set_num_threads``; the wait policy
    cannot change any more and is reported as such.
    """
    global _applied
    env = os.environ if environ is None else environ
    if _applied is not None and environ is None:
        return _applied
    p = plan(env)
    env.update(p.set_by_mltl)
    if environ is None:
        if "torch" in sys.modules:
            import torch

            torch.set_num_threads(p.threads)
            if "GOMP_SPINCOUNT" in p.set_by_mltl:
                p.wait_reason = "torch was loaded before mltl: libgomp keeps the wait policy it started with"
        _applied = p
    return p


def current() -> ThreadPlan:
    """The plan applied in this process (applying it now if nothing did)."""
    return _applied or configure_threads()
