"""Which of a class's validation videos the trials that got the class partly right got right.

    python experiments/scales_cpu/partial_classes.py experiments/scales_cpu/v7_confirm_seed{0,1}

For each class of `scales` (video i's label is i % the class count), over the ok trials of the
run folders given: how many trials got it partly right (neither none nor all of its 15 videos),
and the most common sets of its videos they got right (one digit per video, in video order, 1 =
right). One set shared by many trials, or a set and its complement, means the misses are not
chance: the trials split the class's videos by something the videos differ in (which look a
still video shows, the phase of a changing one), not by training noise spread over the videos.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pandas as pd
from per_kind import run_classes, video_hits

SHOWN = 4  # the most common sets printed per class


def partial_sets(correct: pd.Series, classes: int) -> list[Counter[str]]:
    """Per class, how many trials got each set of its videos right, partial trials only."""
    counts: list[Counter[str]] = [Counter() for _ in range(classes)]
    for text in correct:
        hits = video_hits(text)
        for label in range(classes):
            videos = hits[label::classes]
            if 0 < videos.sum() < len(videos):
                counts[label]["".join("1" if hit else "0" for hit in videos)] += 1
    return counts


def main(run_dirs: list[Path]) -> None:
    (classes,) = {run_classes(run_dir) for run_dir in run_dirs}  # one version of the data
    trials = pd.concat(pd.read_parquet(run_dir / "trials.parquet") for run_dir in run_dirs)
    ok = trials[trials["status"] == "ok"]
    print(f"{len(ok)} trials")
    for label, counts in enumerate(partial_sets(ok["correct"], classes)):
        common = ", ".join(f"{videos} ×{n}" for videos, n in counts.most_common(SHOWN))
        print(f"class {label:2} (kind {label // 2}): {sum(counts.values()):3} partial  {common}")


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]])
