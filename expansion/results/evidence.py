"""How much evidence each choice of a search had: the kept model's lead over the runner-up of
its step, and the seed-to-seed noise of top-1 measured on candidates two runs both trained.

A lead means something only against the noise of a single trial: two trainings of the same
candidate with different seeds differ by some points of top-1 by chance. `seed_noise` collects
those differences from runs with different seeds (same candidates: the same architecture at the
same step); a lead beyond their 95th percentile would rarely come from two equal candidates.
Where a step's leaders were trained again with more seeds (`confirm_seeds`), the lead is the
one the step was decided on, between mean top-1s, and the noise of a mean of n trials is taken
as the single trial's divided by √n (`noise_of_mean`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from expansion.search.records import confirmed_id

if TYPE_CHECKING:  # run_table reads tables through store, which writes step_leads
    from expansion.results.run_table import RunTable

LEAD_COLUMNS = ("runner_up", "runner_up_top1", "lead", "lead_low", "lead_high", "lead_seeds")
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


def paired_lead_interval(kept: np.ndarray | None, other: np.ndarray | None) -> tuple[float, float]:
    """The 95 % bootstrap interval of one candidate's top-1 lead over another's from their hits
    on the same validation videos (`video_hits`, or their means over seeds); NaNs when either is
    unknown."""
    if kept is None or other is None or not len(kept) or len(kept) != len(other):
        return math.nan, math.nan
    difference = kept - other
    means = difference[_resamples(len(difference))].mean(axis=1)
    low, high = np.quantile(means, INTERVAL)
    return float(low), float(high)


def video_hits(correct: str) -> np.ndarray:
    """A trial's hits per validation video (1.0 or 0.0) from its `TrialOutcome.correct`."""
    return np.frombuffer(correct.encode(), dtype=np.uint8).astype(np.float64) - ord("0")


def noise_of_mean(threshold: float, seeds: int) -> float:
    """The noise of a lead between means of `seeds` trials each, from a single trial's."""
    return threshold / math.sqrt(max(seeds, 1))


def _candidates(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per finished candidate, as its step decided on it: top-1 the mean over the
    seeds it was trained with (a confirmation `X-seedK` counts for candidate `X`), `seeds`
    their number, `hits` the per-video hits averaged over them."""
    finished = trials[(trials["status"] == "ok") & (trials["budget"] >= 1)].copy()
    offsets = finished["seed_offset"].astype(int)
    finished["candidate"] = [
        confirmed_id(trial, offset)
        for trial, offset in zip(finished["trial_id"], offsets, strict=True)
    ]
    finished["hits"] = [
        video_hits(correct) if isinstance(correct, str) and correct else None
        for correct in finished["correct"]
    ]
    primary = finished[offsets == 0].set_index("candidate")
    grouped = finished.groupby("candidate")
    primary["top1"] = grouped["top1"].mean()
    primary["seeds"] = grouped.size()
    primary["hits"] = grouped["hits"].apply(_mean_hits)
    return primary.reset_index()


def _mean_hits(hits: pd.Series) -> np.ndarray | None:
    arrays = list(hits)
    if any(a is None for a in arrays) or len({len(a) for a in arrays}) != 1:
        return None
    return np.mean(arrays, axis=0)


def step_leads(path: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """`path` with the best other finished candidate of each kept step, the kept one's lead over
    it (top-1 as a share, negative when a margin kept a cheaper, weaker one), the lead's 95 %
    paired bootstrap interval over the validation videos and `lead_seeds`, the fewest seeds
    behind either side's top-1 (> 1: decided on confirmations' means); empty (`lead_seeds` 0)
    for steps with one candidate (the seed, a single contraction)."""
    candidates = _candidates(trials)
    by_id = candidates.set_index("candidate")
    columns: dict[str, list[object]] = {name: [] for name in LEAD_COLUMNS}
    for row in path.itertuples(index=False):
        # A search to several targets contracts one target's model at the step number of the
        # next forward step: only trials of the same phase compete.
        same_step = (candidates["step"] == row.step) & (candidates["phase"] == row.phase)
        others = candidates[same_step & (candidates["candidate"] != row.trial_id)]
        if others.empty or row.trial_id not in by_id.index:
            for name, empty in zip(LEAD_COLUMNS, ("", *[math.nan] * 4, 0), strict=True):
                columns[name].append(empty)
            continue
        # Ties go to the cheaper, then the first by id: Ray records a step's trials in the
        # order they finish, which must not change the runner-up.
        best = others.sort_values(["top1", "gflops", "candidate"], ascending=[False, True, True])
        best, kept = best.iloc[0], by_id.loc[row.trial_id]
        low, high = paired_lead_interval(kept["hits"], best["hits"])
        values = (
            str(best["axis"]),
            float(best["top1"]),
            float(kept["top1"] - best["top1"]),
            low,
            high,
            int(min(kept["seeds"], best["seeds"])),
        )
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
