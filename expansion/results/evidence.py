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

LEAD_COLUMNS = ("runner_up", "runner_up_top1", "lead", "lead_low", "lead_high")
NOISE_QUANTILE = 0.95
BOOTSTRAP_DRAWS = 2000
INTERVAL = (0.025, 0.975)  # a 95 % interval


def primary_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per candidate, trained in full with the run's seed: successive halving's earlier
    rungs stop short (their top-1 is not comparable) and confirmations repeat a candidate."""
    return trials[(trials["budget"] >= 1) & (trials["seed_offset"] == 0)]


def _resamples(videos: int, seed: int = 0) -> np.ndarray:
    """`BOOTSTRAP_DRAWS` resamples (with replacement) of `videos` indices, fixed by `seed`."""
    return np.random.default_rng(seed).integers(0, videos, (BOOTSTRAP_DRAWS, videos))


def bootstrap_interval(correct: np.ndarray) -> tuple[float, float]:
    """The 95 % bootstrap interval of top-1 from per-video hits (over validation videos: how
    much top-1 depends on which videos happened to be drawn for validation)."""
    means = correct[_resamples(len(correct))].mean(axis=1)
    low, high = np.quantile(means, INTERVAL)
    return float(low), float(high)


def paired_lead_interval(kept: str, other: str) -> tuple[float, float]:
    """The 95 % bootstrap interval of one trial's top-1 lead over another's on the same
    validation videos (`TrialOutcome.correct` of each); NaNs when either is unknown."""
    if not kept or len(kept) != len(other):
        return math.nan, math.nan
    difference = _hits(kept) - _hits(other)
    means = difference[_resamples(len(difference))].mean(axis=1)
    low, high = np.quantile(means, INTERVAL)
    return float(low), float(high)


def _hits(correct: str) -> np.ndarray:
    return np.frombuffer(correct.encode(), dtype=np.uint8).astype(np.float64) - ord("0")


def step_leads(path: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """`path` with the best other finished candidate of each kept step, the kept one's lead over
    it (top-1 as a share, negative when a margin kept a cheaper, weaker one) and the lead's 95 %
    paired bootstrap interval over the validation videos; empty for steps with one candidate
    (the seed, a single contraction)."""
    finished = primary_trials(trials[trials["status"] == "ok"])
    correct = dict(zip(trials["trial_id"], trials["correct"], strict=True))
    columns: dict[str, list[object]] = {name: [] for name in LEAD_COLUMNS}
    for row in path.itertuples(index=False):
        # A search to several targets contracts one target's model at the step number of the
        # next forward step: only trials of the same phase compete.
        same_step = (finished["step"] == row.step) & (finished["phase"] == row.phase)
        others = finished[same_step & (finished["trial_id"] != row.trial_id)]
        if others.empty:
            for name, empty in zip(LEAD_COLUMNS, ("", *[math.nan] * 4), strict=True):
                columns[name].append(empty)
            continue
        # Ties go to the cheaper, then the first by id: Ray records a step's trials in the
        # order they finish, which must not change the runner-up.
        best = others.sort_values(["top1", "gflops", "trial_id"], ascending=[False, True, True])
        best = best.iloc[0]
        low, high = paired_lead_interval(correct[row.trial_id], correct[best["trial_id"]])
        values = (str(best["axis"]), float(best["top1"]), row.top1 - best["top1"], low, high)
        for name, value in zip(LEAD_COLUMNS, values, strict=True):
            columns[name].append(value)
    return path.assign(**columns)


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
        a, b = (primary_trials(run.trials[run.trials["status"] == "ok"]) for run in (first, second))
        if a.empty or b.empty or set(a["seed"]) & set(b["seed"]):
            continue
        keys = ["step", *first.space.to_dict(first.space.seed)]
        both = a.merge(b, on=keys, suffixes=("_a", "_b"))
        differences += (both["top1_a"] - both["top1_b"]).abs().tolist()
    return SeedNoise(tuple(differences))
