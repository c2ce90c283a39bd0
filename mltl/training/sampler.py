"""Length-bucketed, resumable mini-batch sampling (one sampler per language).

Each sampler owns a numpy Generator. At the start of every pass it records the
generator state, shuffles, sorts chunks of ``bucket`` batches by length (little
padding, still random) and shuffles the batch order; ``bucket=1`` gives random batches
(``training.length_buckets``: 1 for tagging, whose token-mean loss would otherwise
overweight short sentences; 50 for classification). Its state is (state before the pass,
position), so a resumed run regenerates exactly the same batches.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


class BucketSampler:
    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int | list[int], bucket: int = 50) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.bucket = bucket
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.passes = 0
        self._start_state: Mapping[str, Any] = {}
        self._batches: list[np.ndarray] = []
        self._pos = 0
        self._new_pass()

    def _new_pass(self) -> None:
        self._start_state = self.rng.bit_generator.state
        n = len(self.lengths)
        perm = self.rng.permutation(n)
        chunk = self.batch_size * self.bucket
        batches: list[np.ndarray] = []
        for s in range(0, n, chunk):
            part = perm[s : s + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches.extend(part[i : i + self.batch_size] for i in range(0, len(part), self.batch_size))
        order = self.rng.permutation(len(batches))
        self._batches = [batches[i] for i in order]
        self._pos = 0

    def next(self) -> np.ndarray:
        if self._pos >= len(self._batches):
            self.passes += 1
            self._new_pass()
        b = self._batches[self._pos]
        self._pos += 1
        return b

    def state_dict(self) -> dict[str, Any]:
        return {"start_state": self._start_state, "pos": self._pos, "passes": self.passes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["start_state"]
        self._new_pass()
        self._pos = int(state["pos"])
        self.passes = int(state["passes"])
