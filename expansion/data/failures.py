"""A record of which videos failed to load, shared by the dataset and its DataLoader workers.

Workers hold copies of the dataset, so a counter in memory would only count one process. The
ledger is instead a small file with one byte per video, set when that video fails; every copy
writes to and reads from the same file, so the main process sees failures found in any worker,
and the allowed share of failures is enforced over all of them. Writes are single bytes at
distinct offsets (and always the same value), so concurrent writers need no lock. The process
that created the ledger deletes the file when the ledger is garbage collected.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from typing import Any

import numpy as np


def _remove(path: str, owner: int) -> None:
    if os.getpid() == owner and os.path.exists(path):
        os.remove(path)


class FailureLedger:
    """Which of `size` videos have failed to load, across every process holding a copy."""

    def __init__(self, size: int) -> None:
        descriptor, self.path = tempfile.mkstemp(prefix="expansion-failures-")
        os.ftruncate(descriptor, size)
        os.close(descriptor)
        self.size = size
        weakref.finalize(self, _remove, self.path, os.getpid())

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)  # copies never delete the file

    def record(self, index: int) -> None:
        """Mark video `index` as failed."""
        descriptor = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(descriptor, b"\x01", index)
        finally:
            os.close(descriptor)

    def failed(self) -> list[int]:
        """Indices of the videos that failed so far, in increasing order."""
        with open(self.path, "rb") as file:
            return np.flatnonzero(np.frombuffer(file.read(), dtype=np.uint8)).tolist()
