"""Training MAN-MoE (Algorithm 1): ``train(config, out_dir)`` and ``resume(out_dir)``.

Importing this package is cheap; torch is imported by the functions that use it.
"""

from __future__ import annotations

from typing import Any


def train(config, out_dir=None, **kwargs: Any):  # noqa: ANN001
    """Train as ``config`` (a :class:`mltl.config.TrainConfig`) says; see :func:`mltl.training.trainer.train`."""
    from mltl.training.trainer import train as _train

    return _train(config, out_dir, **kwargs)


def resume(out_dir, overrides=None, **kwargs: Any):  # noqa: ANN001
    """Continue an interrupted run; see :func:`mltl.training.trainer.resume`."""
    from mltl.training.trainer import resume as _resume

    return _resume(out_dir, overrides, **kwargs)


__all__ = ["train", "resume"]
