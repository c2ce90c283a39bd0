"""``--device`` of train, predict and evaluate: one check, one resolver, one default."""

from __future__ import annotations

import re

from mltl.errors import InputError

DEVICES = "auto, cpu, cuda, cuda:N"
# train, predict, evaluate and load_model: the first GPU when one is visible, else the CPU
DEFAULT_DEVICE = "auto"
_FORM = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(name: str) -> str:
    """The form of ``name`` (no torch needed): ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if not isinstance(name, str) or not _FORM.fullmatch(name):
        raise InputError(f"unknown --device {name!r}; choose from {DEVICES}")
    return name


def pick_device(name: str):
    """``name`` as a ``torch.device``: ``auto`` is the first CUDA GPU when one is visible, else
    the CPU; ``cuda``/``cuda:N`` must name a GPU that is present."""
    import torch

    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: no CUDA GPU is available here (use --device cpu or auto)")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) present")
        return dev
    return torch.device("cpu")
