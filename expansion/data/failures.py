"""A record of which videos failed to load, shared by the dataset and its DataLoader workers.

Workers hold copies of the dataset, so a counter in memory would only count one process. The
ledger is instead one byte per video in shared memory, set when that video fails: DataLoader
workers, forked or spawned through `torch.multiprocessing`, map the same memory, so the main
process sees failures found in any worker, and the allowed share of failures is enforced over all
of them. Writes are single bytes at distinct indices (and always the same value), so concurrent
writers need no lock. The memory has no name on disk and goes when its last user does, so nothing
is left behind, even by a killed process. A plain pickle (Ray) copies the bytes instead.
"""

from __future__ import annotations

import torch


class FailureLedger:
    """Which of `size` videos have failed to load, across every process holding a copy."""

    def __init__(self, size: int) -> None:
        self._failed = torch.zeros(size, dtype=torch.uint8).share_memory_()

    def record(self, index: int) -> None:
        """Mark video `index` as failed."""
        self._failed[index] = 1

    def failed(self) -> list[int]:
        """Indices of the videos that failed so far, in increasing order."""
        return self._failed.nonzero().flatten().tolist()
