"""How much evidence each choice of a search had: the kept model's lead over the runner-up of
its step, and the seed-to-seed noise of top-1 measured on candidates two runs both trained.

A lead means something only against the noise of a single trial: two trainings of the same
candidate with different seeds differ by some points of top-1 by chance. `seed_noise` collects
those differences from runs with different seeds (same candidates: the same architecture at the
same step); a lead beyond their 95th percentile would rarely come from two equal candidates.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # run_table reads tables through store, which writes step_leads
    from expansion.results.run_table import RunTable

LEAD_COLUMNS = ("runner_up", "runner_up_top1", "lead")
NOISE_QUANTILE = 0.95


def step_leads(path: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """`path` with the best other finished candidate of each kept step and the kept one's lead
    over it (top-1 points as a share, negative when a margin kept a cheaper, weaker one); empty
    for steps with one candidate (the seed, a single contraction)."""
    finished = trials[trials["status"] == "ok"]
    runner_up, runner_up_top1, lead = [], [], []
    for row in path.itertuples(index=False):
        others = finished[(finished["step"] == row.step) & (finished["trial_id"] != row.trial_id)]
        if others.empty:
            runner_up.append("")
            runner_up_top1.append(math.nan)
            lead.append(math.nan)
            continue
        best = others.loc[others["top1"].idxmax()]
        runner_up.append(str(best["axis"]))
        runner_up_top1.append(float(best["top1"]))
        lead.append(float(row.top1) - float(best["top1"]))
    return path.assign(runner_up=runner_up, runner_up_top1=runner_up_top1, lead=lead)


@dataclass(frozen=True)
class SeedNoise:
    """Absolute top-1 differences between runs with different seeds on the same candidates."""

    differences: tuple[float, ...]

    @property
    def pairs(self) -> int:
        return len(self.differences)

    @property
    def median(self) -> float:
        return float(np.median(self.differences)) if self.differences else math.nan

    @property
    def threshold(self) -> float:
        """The 95th percentile: a lead beyond it is beyond the noise."""
        if not self.differences:
            return math.nan
        return float(np.quantile(self.differences, NOISE_QUANTILE))

    @property
    def largest(self) -> float:
        return max(self.differences, default=math.nan)


def seed_noise(runs: Sequence[RunTable]) -> SeedNoise:
    """The differences between every two runs with different trial seeds on each candidate
    both finished (matched by step and configuration)."""
    differences: list[float] = []
    for first, second in itertools.combinations(runs, 2):
        a, b = (run.trials[run.trials["status"] == "ok"] for run in (first, second))
        if a.empty or b.empty or set(a["seed"]) & set(b["seed"]):
            continue
        keys = ["step", *first.space.to_dict(first.space.seed)]
        both = a.merge(b, on=keys, suffixes=("_a", "_b"))
        differences += (both["top1_a"] - both["top1_b"]).abs().tolist()
    return SeedNoise(tuple(differences))
