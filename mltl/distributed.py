"""Running under ``torchrun``: who this process is, and the few collectives mltl needs.

``torchrun --nproc-per-node N -m mltl train …`` (or any launcher that sets the same
environment: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``)
starts N copies of the command. :func:`world` reads that environment; :func:`init` joins
the process group (gloo on CPU, NCCL on CUDA). Without those variables everything here is
a no-op and mltl runs as one process, exactly as before.

Why gradients are all-reduced here and not by ``DistributedDataParallel``'s reducer:
Algorithm 1 calls the network through several entry points per iteration (Fs alone for
the D steps, then Fs/Fp/C/D for the main step) and freezes D's parameters inside the F/C
step. DDP hooks one ``forward`` per backward and would need ``find_unused_parameters``
and a different wrapper per optimizer. The maths DDP does is one all-reduce of the
gradients, averaged over ranks, before each optimizer step; :func:`average_gradients`
does exactly that (one flattened all-reduce per step, as DDP's buckets do), once for D
after each D step and once for Fs/Fp/C before the main step, so every rank applies the
same update and the replicas stay identical.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Iterable

from mltl.errors import MltlError

# Seconds a collective may wait for the other ranks. Rank 0 evaluates on source dev while
# the others wait, so this must exceed the longest evaluation; a rank that dies is noticed
# at once (its sockets close), not after this timeout.
TIMEOUT_ENV = "MLTL_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800


class DistributedError(MltlError):
    """Another rank went away or the process group failed (exit 1, one line)."""

    exit_code = 1


@dataclass(frozen=True)
class World:
    """This process's place in the job: ``rank`` of ``size`` (``local_rank`` on its node)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def multi_node(self) -> bool:
        return self.size > self.local_size

    def tag(self) -> str:
        return f"rank {self.rank} of {self.size}"


def world(env: dict[str, str] | None = None) -> World:
    """The :class:`World` torchrun describes in the environment (one process without it)."""
    env = dict(os.environ) if env is None else env
    if "WORLD_SIZE" not in env:
        return World()

    def num(name: str, default: int) -> int:
        raw = env.get(name, str(default))
        try:
            return int(raw)
        except ValueError:
            raise MltlError(f"environment variable {name}={raw!r} is not an integer (set by torchrun)") from None

    size = num("WORLD_SIZE", 1)
    rank = num("RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise MltlError(f"RANK={rank} and WORLD_SIZE={size} do not describe a rank of a job")
    return World(rank, size, num("LOCAL_RANK", 0), num("LOCAL_WORLD_SIZE", size))


def timeout_s() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise MltlError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise MltlError(f"{TIMEOUT_ENV} must be positive, got {raw}")
    return value


def init(w: World, device_type: str = "cpu") -> bool:
    """Join the process group for ``w`` (gloo on CPU, NCCL on CUDA); True if this call did.

    A no-op for one process, or when the caller (a notebook, a test) already joined one."""
    if not w.active:
        return False
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    backend = "nccl" if device_type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s()))
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(f"{w.tag()}: could not join the process group ({_first_line(exc)})") from None
    return True


def shutdown(joined: bool) -> None:
    if joined:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def _first_line(exc: BaseException) -> str:
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if line.startswith("[") and "] " in line:  # gloo's "[/path/to/pair.cc:537] Read error …"
        line = line.split("] ", 1)[1]
    return line.split(". ")[0][:160]


def lost(w: World, exc: BaseException) -> DistributedError:
    """The one line for a collective that failed: another rank died or hung."""
    return DistributedError(
        f"{w.tag()}: lost contact with the other ranks ({_first_line(exc)}); "
        "the job stops (see the other ranks' messages for the cause)"
    )


def average_gradients(params: Iterable[Any], w: World) -> None:
    """Replace each parameter's gradient by its mean over the ranks (what DDP does).

    A parameter may have no gradient on one rank and one on another (a module that only
    some batches reach); it then counts as zero where it had none, as under DDP with
    ``find_unused_parameters``. One all-reduce decides which parameters take part, one
    averages their flattened gradients."""
    if not w.active:
        return
    import torch
    import torch.distributed as dist

    ps = [p for p in params if p.requires_grad]
    if not ps:
        return
    try:
        has = torch.tensor([p.grad is not None for p in ps], dtype=torch.uint8, device=ps[0].device)
        dist.all_reduce(has, op=dist.ReduceOp.MAX)
        live = [p for p, h in zip(ps, has.tolist()) if h]
        for p in live:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if not live:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in live])
        dist.all_reduce(flat)
    except RuntimeError as exc:
        raise lost(w, exc) from None
    flat /= w.size
    offset = 0
    for p in live:
        n = p.grad.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def all_sum(values: list[float], w: World, device: Any = "cpu") -> list[float]:
    """Element-wise sum of ``values`` over the ranks (float64; ``device``: the backend's, a
    CUDA device under NCCL)."""
    if not w.active:
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    try:
        dist.all_reduce(t)
    except RuntimeError as exc:
        raise lost(w, exc) from None
    return [float(v) for v in t.tolist()]


def any_rank(flag: bool, w: World, device: Any = "cpu") -> bool:
    """True on every rank when ``flag`` is true on at least one."""
    if not w.active:
        return flag
    return all_sum([1.0 if flag else 0.0], w, device)[0] > 0


def from_main(flag: bool, w: World, device: Any = "cpu") -> bool:
    """Rank 0's ``flag``, on every rank."""
    if not w.active:
        return flag
    return all_sum([1.0 if (flag and w.is_main) else 0.0], w, device)[0] > 0


def gather_objects(obj: Any, w: World) -> list[Any]:
    """``obj`` of every rank, in rank order, on every rank (small, trusted, in-process data)."""
    if not w.active:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * w.size
    try:
        dist.all_gather_object(out, obj)
    except RuntimeError as exc:
        raise lost(w, exc) from None
    return out


def broadcast_parameters(params: Iterable[Any], w: World) -> None:
    """Rank 0's values into every rank's parameters (identical replicas at the start)."""
    if not w.active:
        return
    import torch.distributed as dist

    try:
        for p in params:
            dist.broadcast(p.data, src=0)
    except RuntimeError as exc:
        raise lost(w, exc) from None


def barrier(w: World) -> None:
    if not w.active:
        return
    import torch.distributed as dist

    try:
        dist.barrier()
    except RuntimeError as exc:
        raise lost(w, exc) from None
