"""Progressive expansion and backward contraction, as a pure function of finished trials.

`next_action(space, settings, records)` replays the search over the trials recorded so far and
says what to train next (the pending candidates of the current step) or that the search is
done. Nothing else is kept between calls, so a killed search resumes from its results table
and the outcome equals that of an uninterrupted run.

Forward (paper §3.3): from the seed, each step proposes one candidate per axis, each one step of
that axis out (≈ `step_factor` × the GFLOPs), and keeps one by the selection rule, until the kept
model reaches the target. Backward: the overshooting model is contracted along its last expanded
axis (`contract="last"`, the paper) or along every axis (`"all"`, the best contracted model is
kept), each by bisection over the axis factor for the largest model within the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from expansion.complexity import config_complexity
from expansion.records import SEED_AXIS, TrialRecord, TrialSpec
from search_spaces import SearchSpace

Selection = Literal["best_accuracy", "best_tradeoff"]
Contraction = Literal["last", "all"]
SEED_TRIAL_ID = "s00-seed"
# Contraction bisects the axis factor on (MIN_CONTRACTION, 1) until the two ends round to the
# same configuration or lie within FACTOR_TOLERANCE.
MIN_CONTRACTION = 1e-3
FACTOR_TOLERANCE = 1e-4


class SearchError(ValueError):
    """The search cannot go on (bad settings, or every candidate of a step failed)."""


@dataclass(frozen=True)
class SearchSettings:
    """What the coordinator needs to know; everything else belongs to trials and dispatch."""

    target_gflops: float
    axes: tuple[str, ...]
    selection: Selection = "best_accuracy"
    contract: Contraction = "last"
    max_steps: int = 12
    step_factor: float = 2.0
    num_classes: int = 400
    min_target_fraction: float = 0.85


@dataclass(frozen=True)
class Train:
    """Train these candidates next (the unfinished part of the current step)."""

    trials: tuple[TrialSpec, ...]


@dataclass(frozen=True)
class Finished:
    """The search is over: the chosen trial, the kept model per step, and why it stopped."""

    final: TrialRecord
    path: tuple[TrialRecord, ...]
    note: str


def validate(space: SearchSpace, settings: SearchSettings) -> None:
    """Raise a one-line `SearchError` for settings no search can satisfy."""
    unknown = [axis for axis in settings.axes if axis not in space.axes]
    if unknown:
        known = ", ".join(space.axes)
        raise SearchError(f"unknown axis {', '.join(unknown)}; known axes: {known}")
    if not settings.axes:
        raise SearchError("no axes to expand: give at least one")
    if len(set(settings.axes)) != len(settings.axes):
        raise SearchError(f"axes listed twice: {', '.join(settings.axes)}")
    if not settings.target_gflops > 0:
        raise SearchError(f"target_gflops must be positive, got {settings.target_gflops}")
    seed_gflops = _gflops(space, settings, space.seed)
    if settings.target_gflops <= seed_gflops:
        raise SearchError(
            f"target_gflops={settings.target_gflops:g} is not above the seed's "
            f"{seed_gflops:.4g} GFLOPs"
        )
    if settings.step_factor <= 1:
        raise SearchError(f"step_factor must be above 1, got {settings.step_factor}")
    if settings.max_steps < 1:
        raise SearchError(f"max_steps must be at least 1, got {settings.max_steps}")
    if settings.selection not in ("best_accuracy", "best_tradeoff"):
        raise SearchError(f"unknown selection {settings.selection!r}: best_accuracy|best_tradeoff")
    if settings.contract not in ("last", "all"):
        raise SearchError(f"unknown contract {settings.contract!r}: last|all")


def next_action(
    space: SearchSpace, settings: SearchSettings, records: Sequence[TrialRecord]
) -> Train | Finished:
    """What to do after `records`: train the current step's pending candidates, or stop."""
    done = {record.trial_id: record for record in records}

    def outcome_of(step_trials: Sequence[TrialSpec]) -> list[TrialRecord] | Train:
        pending = tuple(spec for spec in step_trials if spec.trial_id not in done)
        return Train(pending) if pending else [done[spec.trial_id] for spec in step_trials]

    seed = outcome_of([_spec(space, settings, SEED_TRIAL_ID, 0, "forward", SEED_AXIS, None, None)])
    if isinstance(seed, Train):
        return seed
    kept = seed[0]
    if not kept.usable:
        raise SearchError(f"the seed trial failed ({kept.outcome.error}); nothing to expand")
    path = [kept]
    step = 0
    while kept.spec.gflops < settings.target_gflops:
        step += 1
        if step > settings.max_steps:
            note = (
                f"max_steps={settings.max_steps} reached at {kept.spec.gflops:.4g} GFLOPs, "
                f"below the target {settings.target_gflops:g}"
            )
            return Finished(kept, tuple(path), note)
        candidates = outcome_of(_forward_candidates(space, settings, kept, step))
        if isinstance(candidates, Train):
            return candidates
        kept = _select(candidates, kept, settings.selection, step)
        path.append(kept)
    if kept.spec.gflops == settings.target_gflops:
        return Finished(kept, tuple(path), "the last expansion met the target exactly")
    return _contract(space, settings, path, outcome_of)


def _contract(
    space: SearchSpace,
    settings: SearchSettings,
    path: list[TrialRecord],
    outcome_of: Callable[[Sequence[TrialSpec]], list[TrialRecord] | Train],
) -> Train | Finished:
    overshoot, fallback = path[-1], path[-2]
    axes = (overshoot.spec.axis,) if settings.contract == "last" else settings.axes
    step = overshoot.spec.step + 1
    candidates = [
        spec
        for axis in axes
        if (spec := _contraction_candidate(space, settings, overshoot, axis, step)) is not None
    ]
    if not candidates:
        note = f"no contraction of {', '.join(axes)} fits the target; kept the last model below it"
        return Finished(fallback, tuple(path[:-1]), note)
    results = outcome_of(candidates)
    if isinstance(results, Train):
        return results
    usable = [record for record in results if record.usable]
    if not usable:
        note = "every contracted model failed to train; kept the last model below the target"
        return Finished(fallback, tuple(path[:-1]), note)
    floor = settings.min_target_fraction * settings.target_gflops
    near_target = [record for record in usable if record.spec.gflops >= floor]
    # All contracted models sit just under the target, so accuracy alone ranks them.
    final = _best_accuracy(near_target or usable)
    note = f"contracted {final.spec.axis} to {final.spec.gflops:.4g} GFLOPs"
    if final.spec.gflops < floor:
        note += (
            f"; rounding of {', '.join(axes)} allows no model between "
            f"{settings.min_target_fraction:.0%} of the target and the target"
        )
    return Finished(final, (*path, final), note)


def _forward_candidates(
    space: SearchSpace, settings: SearchSettings, parent: TrialRecord, step: int
) -> list[TrialSpec]:
    """One candidate per axis, one step out; an axis whose step rounds to no change is skipped."""
    # An axis step multiplies the GFLOPs by about 2; step_factor s rescales it to about s.
    exponent = math.log(settings.step_factor) / math.log(2)
    candidates = []
    for axis in settings.axes:
        config = space.axes[axis].apply(parent.spec.config, space.axes[axis].step ** exponent)
        if config != parent.spec.config:
            trial_id = f"s{step:02d}-{axis}"
            candidates.append(
                _spec(space, settings, trial_id, step, "forward", axis, parent, config)
            )
    if not candidates:
        raise SearchError(f"step {step}: no axis changes the configuration any more")
    return candidates


def _contraction_candidate(
    space: SearchSpace, settings: SearchSettings, overshoot: TrialRecord, axis: str, step: int
) -> TrialSpec | None:
    """The largest contraction of `overshoot` along `axis` within the target, if any fits."""
    apply = space.axes[axis].apply
    config = overshoot.spec.config

    def fits(factor: float) -> bool:
        return _gflops(space, settings, apply(config, factor)) <= settings.target_gflops

    low, high = MIN_CONTRACTION, 1.0
    if not fits(low):
        return None
    while high - low > FACTOR_TOLERANCE and apply(config, low) != apply(config, high):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    trial_id = f"s{step:02d}-contract-{axis}"
    return _spec(space, settings, trial_id, step, "contract", axis, overshoot, apply(config, low))


def _select(
    candidates: list[TrialRecord], parent: TrialRecord, rule: Selection, step: int
) -> TrialRecord:
    usable = [record for record in candidates if record.usable]
    if not usable:
        errors = "; ".join(f"{r.spec.axis}: {r.outcome.error}" for r in candidates)
        raise SearchError(f"every candidate of step {step} failed ({errors})")
    if rule == "best_accuracy":
        return _best_accuracy(usable)

    def tradeoff(record: TrialRecord) -> float:
        added = max(record.spec.gflops - parent.spec.gflops, 1e-12)
        return (record.outcome.top1 - parent.outcome.top1) / added

    return max(usable, key=lambda record: (tradeoff(record), -record.spec.gflops))


def _best_accuracy(records: Sequence[TrialRecord]) -> TrialRecord:
    """Highest top-1; ties go to the cheaper model, then to the earlier axis."""
    return max(records, key=lambda record: (record.outcome.top1, -record.spec.gflops))


def _gflops(space: SearchSpace, settings: SearchSettings, config: Any) -> float:
    return config_complexity(space, config, settings.num_classes).gflops


def _spec(
    space: SearchSpace,
    settings: SearchSettings,
    trial_id: str,
    step: int,
    phase: Literal["forward", "contract"],
    axis: str,
    parent: TrialRecord | None,
    config: Any | None,
) -> TrialSpec:
    config = space.seed if config is None else config
    complexity = config_complexity(space, config, settings.num_classes)
    return TrialSpec(
        trial_id=trial_id,
        step=step,
        phase=phase,
        axis=axis,
        parent="" if parent is None else parent.trial_id,
        config=config,
        gflops=complexity.gflops,
        params_m=complexity.params_m,
    )
