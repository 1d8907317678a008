"""Files replaced atomically: a reader, or a run resumed after a kill, never sees a torn file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Replace `path` by what `write` puts in a temporary file, so `path` is never torn.

    The temporary file is `.NAME.tmp` beside `path` (the same file system, so the rename is
    atomic); a writer killed before the rename leaves it behind, and the next write reuses it.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # makes the rename itself durable
    finally:
        os.close(directory)
