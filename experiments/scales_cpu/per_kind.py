"""Per kind of `scales`, how much of each class a run folder's trials got right.

    python experiments/scales_cpu/per_kind.py experiments/scales_cpu/v6_seed0

Prints, per trial, top-1 and for each kind `changes/still`: the share of the validation videos
of the pair's two classes called right (video i's label is i % the class count, 16 up to
`scales-v7` and 18 from v9; kind label // 2, the changing class first). A kind learnt shows
1.00/1.00; a kind the model cannot tell apart shows one class always (1.00/0.00 or 0.00/1.00).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def run_classes(run_dir: Path) -> int:
    """The class count of the `scales` version the run folder's search recorded."""
    data = yaml.safe_load((run_dir / "search.yaml").read_text())["data"]
    return 18 if data["version"] >= 9 else 16


def video_hits(correct: str) -> np.ndarray:
    """A trial's `correct` string (one 0/1 per validation video) as booleans."""
    return np.frombuffer(correct.encode(), dtype=np.uint8) == ord("1")


def per_kind(correct: str, classes: int) -> list[tuple[float, float]]:
    hits = video_hits(correct)
    labels = np.arange(len(hits)) % classes
    return [
        (hits[labels == label].mean(), hits[labels == label + 1].mean())
        for label in range(0, classes, 2)
    ]


def main(run_dir: Path) -> None:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    classes = run_classes(run_dir)
    for row in trials[trials["status"] == "ok"].itertuples():
        kinds = " ".join(
            f"{changes:.2f}/{still:.2f}" for changes, still in per_kind(row.correct, classes)
        )
        print(f"{row.trial_id:<22} {row.top1:6.1%}  {kinds}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
