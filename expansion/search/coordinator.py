"""Progressive expansion and backward contraction, as a pure function of finished trials.

`next_action(space, settings, records)` replays the search over the trials recorded so far and
says what to train next (the pending candidates of the current step) or that the search is
done. Nothing else is kept between calls, so a killed search resumes from its results table
and the outcome equals that of an uninterrupted run.

Forward (paper §3.3): from the seed, each step proposes one candidate per axis, each about
`step_factor` × its parent's GFLOPs (`sizing.expand`), and keeps one by the selection rule, until
the kept model reaches the largest target. `step_factor=None` takes each axis's own paper step
instead (the paper's path from X2D then lands on X3D-XS). A `replay` fixes the kept axis of the
first steps (the paper's path, say): only that axis's candidate is trained, unless
`replay_others` asks for the others too, and it is kept whatever they score.

Backward: a kept model within `target_tolerance` under a target has reached it and is its
member as it is (the paper's X3D-XS is its step-5 model); the model that first passes a target
is contracted along its last expanded axis (`contract="last"`, the paper) or along every axis
(`"all"`, the best contracted model is kept), each to the largest model within the target
(`sizing.contract`): that target's member. The forward path goes on from the uncontracted model
to the next target, as the paper derives X3D-S from its step 7 and goes on to M, L and XL from
the step-7 model itself.

Hardware targets (`target_latency_ms`, `target_memory_mb`) make one `Budget` with the GFLOPs
target, if any: candidates are still sized by GFLOPs, but whether the kept model passed the
budget, and the contraction's bisection, go by measured figures (`budget.Cost`). Those come
from `measures`, which the driver backs with the run folder's recorded table: the search stays
a function of the records and of recorded measurements, and a resume measures nothing again.

Cheaper decisions, all replayed from the table like the rest: with `inherit` a candidate starts
from its parent's weights (`inherit_from`); with `fidelity="halving"` a step's candidates train
in rungs and only the best share goes on (`_train_step`); with `confirm_seeds` close leaders
are trained with more seeds and selected on their mean (`_confirmed`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from expansion.errors import SearchError
from expansion.search.budget import Budget, Cost, Measures
from expansion.search.complexity import config_complexity, gflops_of
from expansion.search.records import (
    SEED_AXIS,
    Member,
    TrialRecord,
    TrialSpec,
    confirmation_id,
    confirmed_id,
)
from expansion.search.sizing import contract, expand
from search_spaces import SearchSpace

Selection = Literal["best_accuracy", "best_tradeoff"]
Contraction = Literal["last", "all"]
ContractFrom = Literal["overshoot", "below"]
Fidelity = Literal["full", "halving"]
SEED_TRIAL_ID = "s00-seed"


class TrialCrash(RuntimeError):
    """The search cannot go on because trials crashed on a bug; carries the first traceback."""


def _cannot_go_on(failures: Sequence[TrialRecord], reason: str) -> Exception:
    """A `SearchError` (one line, exit 2) when the failures were the user's to fix (bad data,
    a diverging schedule); a `TrialCrash` with the trial's traceback when one was a bug."""
    crash = next((record for record in failures if record.outcome.traceback), None)
    if crash is None:
        return SearchError(reason)
    return TrialCrash(f"{reason}\ntraceback of {crash.trial_id}:\n{crash.outcome.traceback}")


@dataclass(frozen=True)
class SearchSettings:
    """What the coordinator needs to know; everything else belongs to trials and dispatch."""

    target_gflops: tuple[float, ...]  # rising; the search derives one member per target
    axes: tuple[str, ...]
    selection: Selection = "best_accuracy"
    contract: Contraction = "last"
    max_steps: int = 12
    step_factor: float | None = 2.0  # None: each axis's own paper step
    num_classes: int = 400
    min_target_fraction: float = 0.85
    # a kept model within this share under a target has reached it (its member, no more steps)
    target_tolerance: float = 0.0
    selection_margin: float = 0.0  # top-1 (0-1) within which candidates count as tied
    # a tied candidate is kept for its cost only when it is cheaper by more than this share
    selection_cost_margin: float = 0.0
    inherit: bool = False  # candidates start from their parent's weights
    contract_from: ContractFrom = "overshoot"  # whose weights contracted candidates start from
    fidelity: Fidelity = "full"  # halving: successive halving within each step
    rungs: tuple[float, ...] = (0.25, 1.0)  # halving: budgets, as shares of a trial's epochs
    keep: float = 1 / 3  # halving: the share of a rung's candidates that go on (at least one)
    confirm_seeds: int = 0  # retrain a step's leaders with this many more seeds, keep by the mean
    confirm_margin: float = 0.05  # leaders: candidates within this top-1 of the step's best
    confirm_top: int | None = None  # at most this many leaders, the best first (None: all)
    replay: tuple[str, ...] = ()  # the kept axis of steps 1, 2, …; after them the search chooses
    replay_others: bool = False  # replayed steps also train the other axes' candidates
    # measured bounds, beside at most one GFLOPs target (then the model must satisfy both)
    target_latency_ms: float | None = None
    target_memory_mb: float | None = None

    @property
    def largest_target(self) -> float:
        """The largest GFLOPs target; inf for a search to hardware targets alone."""
        return self.target_gflops[-1] if self.target_gflops else math.inf

    def reach(self, target: float) -> float:
        """Where a kept model has reached `target`: within `target_tolerance` under it."""
        return target * (1 - self.target_tolerance)

    @property
    def budgets(self) -> tuple[Budget, ...]:
        """One budget per member, rising: each GFLOPs target, or the one hardware budget."""
        hardware = {"latency_ms": self.target_latency_ms, "memory_mb": self.target_memory_mb}
        if self.target_latency_ms is None and self.target_memory_mb is None:
            return tuple(Budget(target) for target in self.target_gflops)
        return (Budget(self.largest_target, **hardware),)

    def replayed_axis(self, step: int) -> str | None:
        """The axis `replay` keeps at forward step `step`, or None where the search chooses."""
        return self.replay[step - 1] if 1 <= step <= len(self.replay) else None


@dataclass(frozen=True)
class Train:
    """Train these candidates next: the unfinished part of a step of `step_size` candidates;
    `members` are those of the targets the search has passed so far."""

    trials: tuple[TrialSpec, ...]
    step_size: int
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class Finished:
    """The search is over: the chosen trial (the largest target's member), the kept model per
    step up to it, why it stopped, and the member of every target."""

    final: TrialRecord
    path: tuple[TrialRecord, ...]
    note: str
    members: tuple[Member, ...]


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
    _validate_targets(space, settings)
    unknown = [axis for axis in settings.replay if axis not in space.axes]
    if unknown:
        known = ", ".join(space.axes)
        raise SearchError(f"unknown axis {', '.join(unknown)} in replay; known axes: {known}")
    if len(settings.replay) > settings.max_steps:
        raise SearchError(
            f"replay has {len(settings.replay)} steps but max_steps={settings.max_steps}"
        )
    if settings.step_factor is not None and not settings.step_factor > 1:
        raise SearchError(f"step_factor must be above 1 or null, got {settings.step_factor}")
    if not 0 <= settings.selection_margin < 1:
        raise SearchError(
            f"selection_margin is a top-1 difference in [0, 1), got {settings.selection_margin}"
        )
    if not 0 <= settings.selection_cost_margin < 1:
        raise SearchError(
            "selection_cost_margin is a share of a candidate's GFLOPs in [0, 1), "
            f"got {settings.selection_cost_margin}"
        )
    if not 0 <= settings.target_tolerance < 1:
        raise SearchError(
            f"target_tolerance is a share of the target in [0, 1), got {settings.target_tolerance}"
        )
    if settings.max_steps < 1:
        raise SearchError(f"max_steps must be at least 1, got {settings.max_steps}")
    if settings.selection not in ("best_accuracy", "best_tradeoff"):
        raise SearchError(f"unknown selection {settings.selection!r}: best_accuracy|best_tradeoff")
    if settings.contract not in ("last", "all"):
        raise SearchError(f"unknown contract {settings.contract!r}: last|all")
    rungs = settings.rungs
    rising = all(a < b for a, b in itertools.pairwise((0.0, *rungs)))
    if not rungs or rungs[-1] != 1 or not rising:
        raise SearchError(
            f"rungs must rise to 1 (the full budget), e.g. [0.25, 1], got {list(rungs)}"
        )
    if settings.confirm_seeds < 0 or not 0 <= settings.confirm_margin < 1:
        raise SearchError(
            f"confirm_seeds must not be negative ({settings.confirm_seeds}) and confirm_margin "
            f"is a top-1 difference in [0, 1) ({settings.confirm_margin})"
        )
    if settings.confirm_top is not None and settings.confirm_top < 2:
        raise SearchError(
            f"confirm_top is how many leaders are confirmed, at least 2 or null (all): "
            f"{settings.confirm_top}"
        )
    if not 0 < settings.keep < 1:
        raise SearchError(
            f"keep is the share of a rung's candidates that go on, in (0, 1): {settings.keep}"
        )


def _validate_targets(space: SearchSpace, settings: SearchSettings) -> None:
    targets = settings.target_gflops
    hardware = {"target_latency_ms": settings.target_latency_ms}
    hardware["target_memory_mb"] = settings.target_memory_mb
    for name, value in hardware.items():
        if value is not None and not 0 < value < math.inf:
            raise SearchError(f"{name} must be positive and finite, got {value}")
    given = [name for name, value in hardware.items() if value is not None]
    if given and len(targets) > 1:
        raise SearchError(
            f"{given[0]} is one budget: give at most one target_gflops beside it, "
            f"not {len(targets)}"
        )
    if given and not targets:
        return
    if not targets:
        raise SearchError("target_gflops is empty: give at least one target")
    shown = targets[0] if len(targets) == 1 else list(targets)
    for target in targets:
        if not 0 < target < math.inf:
            raise SearchError(f"target_gflops must be positive and finite, got {shown}")
    if any(low >= high for low, high in itertools.pairwise(targets)):
        raise SearchError(f"target_gflops must rise without repeats, got {shown}")
    seed_gflops = gflops_of(space, space.seed, settings.num_classes)
    if targets[0] <= seed_gflops:
        raise SearchError(
            f"target_gflops={targets[0]:g} is not above the seed's {seed_gflops:.4g} GFLOPs"
        )


def check_reachable(space: SearchSpace, settings: SearchSettings, measures: Measures) -> None:
    """A one-line `SearchError` when the seed itself does not fit under a hardware target:
    every model the search trains is larger. For the driver to call before any trial."""
    seed = space.seed
    for name, target, figure, unit in (
        ("target_latency_ms", settings.target_latency_ms, measures.latency_ms, "ms"),
        ("target_memory_mb", settings.target_memory_mb, measures.memory_mb, "MiB"),
    ):
        if target is not None and target <= (measured := figure(seed)):
            raise SearchError(
                f"{name}={target:g} is not above the seed's measured {measured:.4g} {unit}: "
                "no model of the search fits it"
            )


def next_action(
    space: SearchSpace,
    settings: SearchSettings,
    records: Sequence[TrialRecord],
    measures: Measures | None = None,
) -> Train | Finished:
    """What to do after `records`: train the current step's pending candidates, or stop.

    `measures` gives the figures of hardware targets (needed only with them); the outcome is a
    function of `records` and of what `measures` answers, so it must answer the same for the
    same configuration every time (the driver's recorded table does)."""
    done = {record.trial_id: record for record in records}
    members: list[Member] = []

    def outcome_of(step_trials: Sequence[TrialSpec]) -> list[TrialRecord] | Train:
        pending = tuple(spec for spec in step_trials if spec.trial_id not in done)
        if pending:
            return Train(pending, len(step_trials), tuple(members))
        for spec in step_trials:
            if done[spec.trial_id].spec.config != spec.config:
                raise SearchError(
                    f"the recorded trial {spec.trial_id} has another configuration than the "
                    "search proposes for it now: the table belongs to other settings or code"
                )
        return [done[spec.trial_id] for spec in step_trials]

    seed = outcome_of([_spec(space, settings, SEED_TRIAL_ID, 0, "forward", SEED_AXIS, None, None)])
    if isinstance(seed, Train):
        return seed
    kept = seed[0]
    if not kept.usable:
        raise _cannot_go_on(
            seed, f"the seed trial failed ({kept.outcome.error}); nothing to expand"
        )
    path = [kept]
    step = 0
    costs = [
        Cost(space, settings.num_classes, budget, measures, settings.target_tolerance)
        for budget in settings.budgets
    ]
    for index, cost in enumerate(costs):
        while not cost.reached(kept.spec.config):
            step += 1
            if step > settings.max_steps:
                members.extend(_stopped_below(settings, kept, missed) for missed in costs[index:])
                return _finished(path, members)
            kept_or_train = _forward_step(space, settings, kept, step, cost, outcome_of)
            if isinstance(kept_or_train, Train):
                return kept_or_train
            kept = kept_or_train
            path.append(kept)
        member = _member(space, settings, path, index, cost, outcome_of)
        if isinstance(member, Train):
            return member
        members.append(member)
    return _finished(path, members)


def _forward_step(
    space: SearchSpace,
    settings: SearchSettings,
    parent: TrialRecord,
    step: int,
    cost: Cost,
    outcome_of: Callable[[Sequence[TrialSpec]], list[TrialRecord] | Train],
) -> TrialRecord | Train:
    """The model step `step` keeps, or the candidates it still has to train. A replayed step
    trains its candidates in full (no halving, no confirmation: no choice is made)."""
    replayed = settings.replayed_axis(step)
    if replayed is not None:
        candidates = outcome_of(_replay_candidates(space, settings, parent, step, replayed))
        if isinstance(candidates, Train):
            return candidates
        return _replayed(candidates, replayed)
    candidates = _train_step(
        _forward_candidates(space, settings, parent, step), settings, outcome_of
    )
    if isinstance(candidates, Train):
        return candidates
    confirmed = _confirmed(candidates, settings, outcome_of)
    if isinstance(confirmed, Train):
        return confirmed
    return _select(candidates, parent, settings, step, cost, confirmed)


def _member(
    space: SearchSpace,
    settings: SearchSettings,
    path: list[TrialRecord],
    index: int,
    cost: Cost,
    outcome_of: Callable[[Sequence[TrialSpec]], list[TrialRecord] | Train],
) -> Member | Train:
    """The member of the `index`-th budget, which the last model of `path` has reached."""
    reached = path[-1]
    config = reached.spec.config
    if cost.fits(config):  # reached without passing: at a bound, or within the tolerance
        share = cost.share(config)
        note = (
            "the last expansion met the target exactly"
            if share == 1
            else f"the last expansion reached {share:.1%} of the target "
            f"(within target_tolerance={settings.target_tolerance:g})"
        )
        return Member(cost.budget.gflops, reached, note + cost.measured(config))
    return _contract(space, settings, path, index, cost, outcome_of)


def _stopped_below(settings: SearchSettings, kept: TrialRecord, cost: Cost) -> Member:
    """The member of a budget the forward steps did not reach within `max_steps`."""
    note = (
        f"max_steps={settings.max_steps} reached at {kept.spec.gflops:.4g} GFLOPs"
        f"{cost.measured(kept.spec.config)}, below the target {cost.budget}"
    )
    return Member(cost.budget.gflops, kept, note)


def _finished(path: list[TrialRecord], members: list[Member]) -> Finished:
    """The search's outcome: the largest target's member is the final model, and the path runs
    to it (to its contraction, or to the model below the target kept when none fitted)."""
    final = members[-1]
    if final.record.spec.phase == "contract":
        kept = (*path, final.record)
    else:
        ids = [record.trial_id for record in path]
        kept = tuple(path[: ids.index(final.record.trial_id) + 1])
    return Finished(final.record, kept, final.note, tuple(members))


def _contract(
    space: SearchSpace,
    settings: SearchSettings,
    path: list[TrialRecord],
    index: int,
    cost: Cost,
    outcome_of: Callable[[Sequence[TrialSpec]], list[TrialRecord] | Train],
) -> Member | Train:
    """The `index`-th budget's member: the overshooting last model of `path` contracted to the
    budget, or the model before it when no contraction fits or trains."""
    target = cost.budget.gflops
    overshoot, fallback = path[-1], path[-2]
    axes = (overshoot.spec.axis,) if settings.contract == "last" else settings.axes
    step = overshoot.spec.step + 1
    candidates = [
        spec
        for axis in axes
        if (
            spec := _contraction_candidate(
                space, settings, overshoot, fallback, axis, step, index, cost
            )
        )
        is not None
    ]
    if not candidates:
        note = f"no contraction of {', '.join(axes)} fits the target; kept the last model below it"
        return Member(target, fallback, note)
    results = _train_step(candidates, settings, outcome_of)
    if isinstance(results, Train):
        return results
    usable = [record for record in results if record.usable]
    if not usable:
        note = "every contracted model failed to train; kept the last model below the target"
        return Member(target, fallback, note)
    floor = settings.min_target_fraction
    near_target = [record for record in usable if cost.share(record.spec.config) >= floor]
    # All contracted models sit just under the target, so accuracy alone ranks them.
    chosen = _best_accuracy(near_target or usable, settings)
    config = chosen.spec.config
    note = f"contracted {chosen.spec.axis} to {chosen.spec.gflops:.4g} GFLOPs"
    note += cost.measured(config)
    if cost.share(config) < floor:
        note += (
            f"; rounding of {', '.join(axes)} allows no model between "
            f"{settings.min_target_fraction:.0%} of the target and the target"
        )
    return Member(target, chosen, note)


def promoted_count(candidates: int, settings: SearchSettings) -> int:
    """How many of a rung's `candidates` go on to the next rung (`keep`, at least one)."""
    return max(1, math.ceil(candidates * settings.keep))


def rung_sizes(candidates: int, settings: SearchSettings) -> list[int]:
    """How many of a step's `candidates` train each rung: all of them, once, with
    `fidelity=full` or a lone candidate."""
    if settings.fidelity == "full" or candidates == 1:
        return [candidates]
    sizes = [candidates]
    for _ in settings.rungs[1:]:
        sizes.append(promoted_count(sizes[-1], settings))
    return sizes


def _train_step(
    specs: Sequence[TrialSpec],
    settings: SearchSettings,
    outcome_of: Callable[[Sequence[TrialSpec]], list[TrialRecord] | Train],
) -> list[TrialRecord] | Train:
    """The step's candidates trained in full, or by successive halving: every candidate trains
    the first rung's budget, the best `keep` share of them (by top-1, then the cheaper) go on
    from their checkpoints to the next rung, up to the full budget. The full-budget records come
    back; promotions follow from recorded results alone, so a resume replays them."""
    if settings.fidelity == "full" or len(specs) == 1:
        return outcome_of(specs)
    alive, previous = list(specs), {spec.trial_id: "" for spec in specs}
    for rung, share in enumerate(settings.rungs):
        last = rung == len(settings.rungs) - 1
        rung_specs = [
            replace(
                spec,
                trial_id=spec.trial_id if last else f"{spec.trial_id}-r{rung}",
                budget=share,
                resume_from=previous[spec.trial_id],
            )
            for spec in alive
        ]
        results = outcome_of(rung_specs)
        if isinstance(results, Train) or last:
            return results
        usable = [record for record in results if record.usable]
        if not usable:  # the step fails: `_select` says so
            return results
        count = promoted_count(len(alive), settings)
        ranked = sorted(usable, key=lambda record: (-record.outcome.top1, record.spec.gflops))
        promoted = {record.trial_id for record in ranked[:count]}
        alive = [
            spec
            for spec, rung_spec in zip(alive, rung_specs, strict=True)
            if rung_spec.trial_id in promoted
        ]
        previous = {spec.trial_id: f"{spec.trial_id}-r{rung}" for spec in alive}
    raise AssertionError("rungs end with the full budget")  # validate() checks it


def _confirmed(
    candidates: Sequence[TrialRecord],
    settings: SearchSettings,
    outcome_of: Callable[[Sequence[TrialSpec]], list[TrialRecord] | Train],
) -> dict[str, float] | Train:
    """With `confirm_seeds`, the step's leaders (within `confirm_margin` of its best top-1, the
    best `confirm_top` of them, if there are several) trained again with that many more trial
    seeds: their mean top-1 by trial id (empty: nothing to confirm), or the confirmations still
    to train."""
    usable = [record for record in candidates if record.usable]
    if settings.confirm_seeds < 1 or not usable:
        return {}
    best = max(record.outcome.top1 for record in usable)
    leaders = [r for r in usable if r.outcome.top1 >= best - settings.confirm_margin]
    leaders = sorted(leaders, key=lambda r: -r.outcome.top1)[: settings.confirm_top]
    if len(leaders) < 2:
        return {}
    again = [
        replace(
            leader.spec,
            trial_id=confirmation_id(leader.trial_id, offset),
            seed_offset=offset,
            budget=1.0,
            resume_from="",
        )
        for leader in leaders
        for offset in range(1, settings.confirm_seeds + 1)
    ]
    results = outcome_of(again)
    if isinstance(results, Train):
        return results
    means = {}
    for leader in leaders:
        confirming = (
            r for r in results if confirmed_id(r.trial_id, r.spec.seed_offset) == leader.trial_id
        )
        runs = [leader, *confirming]
        top1 = [r.outcome.top1 for r in runs if r.usable]
        means[leader.trial_id] = sum(top1) / len(top1)
    return means


def _forward_candidates(
    space: SearchSpace,
    settings: SearchSettings,
    parent: TrialRecord,
    step: int,
    axes: Sequence[str] | None = None,
) -> list[TrialSpec]:
    """One candidate per axis (of `axes`, else the settings'), one step out; an axis that no
    factor grows is skipped."""
    candidates = []
    for axis in settings.axes if axes is None else axes:
        config = expand(space, parent.spec.config, axis, settings.step_factor, settings.num_classes)
        if config is not None:
            trial_id = f"s{step:02d}-{axis}"
            candidates.append(
                _spec(space, settings, trial_id, step, "forward", axis, parent, config)
            )
    if not candidates:
        raise SearchError(f"step {step}: no axis changes the configuration any more")
    return candidates


def _replay_candidates(
    space: SearchSpace, settings: SearchSettings, parent: TrialRecord, step: int, replayed: str
) -> list[TrialSpec]:
    """A replayed step's candidates: the replayed axis's, with `replay_others` every axis's."""
    axes = [replayed]
    if settings.replay_others:
        axes = [*settings.axes, *([] if replayed in settings.axes else [replayed])]
    candidates = _forward_candidates(space, settings, parent, step, axes)
    if not any(spec.axis == replayed for spec in candidates):
        raise SearchError(f"replay step {step}: {replayed} no longer changes the configuration")
    return candidates


def _replayed(candidates: Sequence[TrialRecord], replayed: str) -> TrialRecord:
    """The replayed axis's candidate, whatever the others scored; the search cannot follow the
    replay past it if it failed."""
    (kept,) = [record for record in candidates if record.spec.axis == replayed]
    if not kept.usable:
        reason = f"the replayed candidate {kept.trial_id} failed ({kept.outcome.error})"
        raise _cannot_go_on([kept], reason)
    return kept


def _contraction_candidate(
    space: SearchSpace,
    settings: SearchSettings,
    overshoot: TrialRecord,
    below: TrialRecord,
    axis: str,
    step: int,
    index: int,
    cost: Cost,
) -> TrialSpec | None:
    """The largest contraction of `overshoot` along `axis` within the `index`-th budget
    (`cost`), if any fits; it inherits (with `settings.inherit`) from `overshoot` or from
    `below`, the last model under the target (`settings.contract_from`). With several targets
    its id ends in `-t<k>`, the target's rank (from 1): one step may pass several targets."""
    config = contract(space, overshoot.spec.config, axis, cost.fits)
    if config is None:
        return None
    trial_id = f"s{step:02d}-contract-{axis}"
    if len(settings.target_gflops) > 1:
        trial_id += f"-t{index + 1}"
    spec = _spec(space, settings, trial_id, step, "contract", axis, overshoot, config)
    if settings.inherit and settings.contract_from == "below":
        return replace(spec, inherit_from=below.trial_id)
    return spec


def _select(
    candidates: list[TrialRecord],
    parent: TrialRecord,
    settings: SearchSettings,
    step: int,
    cost: Cost,
    means: Mapping[str, float] | None = None,
) -> TrialRecord:
    """The kept candidate of a step towards `cost`'s budget; `means` replace the top-1 of
    confirmed candidates."""
    usable = [record for record in candidates if record.usable]
    if not usable:
        errors = "; ".join(f"{r.spec.axis}: {r.outcome.error}" for r in candidates)
        raise _cannot_go_on(candidates, f"every candidate of step {step} failed ({errors})")
    if means:
        originals = {record.trial_id: record for record in usable}
        scored = [
            replace(r, outcome=replace(r.outcome, top1=means[r.trial_id]))
            if r.trial_id in means
            else r
            for r in usable
        ]
        chosen = _select(scored, parent, settings, step, cost)
        return originals[chosen.trial_id]
    if settings.selection == "best_accuracy":
        return _best_accuracy(usable, settings, cost.reached)

    def tradeoff(record: TrialRecord) -> float:
        added = max(record.spec.gflops - parent.spec.gflops, 1e-12)
        return (record.outcome.top1 - parent.outcome.top1) / added

    return max(usable, key=lambda record: (tradeoff(record), -record.spec.gflops))


def _best_accuracy(
    records: Sequence[TrialRecord],
    settings: SearchSettings,
    reaches_target: Callable[[Any], bool] | None = None,
) -> TrialRecord:
    """The cheapest of the records within `selection_margin` of the highest top-1, where being
    cheaper counts only beyond `selection_cost_margin`: among the tied records that cost about
    as little as the cheapest, the most accurate (then the cheaper, then the earlier axis).

    With `selection_margin` 0 this is the paper's rule, the highest top-1. A margin of about the
    validation noise stops noise from choosing among candidates that are equally good: the
    cheapest of them is kept, which is also the better accuracy/complexity trade-off. But the
    candidates of one step are all sized to about twice their parent, and differ in GFLOPs by
    the grid's rounding (a few per cent): saving that much is no reason to give up the better
    measured top-1, so the cost margin keeps such candidates apart only by accuracy. Tied
    candidates whose configuration `reaches_target` come first: keeping one just below it would
    cost a whole further step of candidates at twice the target, only to be contracted back.
    """
    best = max(record.outcome.top1 for record in records)
    tied = [r for r in records if r.outcome.top1 >= best - settings.selection_margin]
    reaching = [r for r in tied if reaches_target is None or reaches_target(r.spec.config)]
    tied = reaching or tied
    cheapest = min(record.spec.gflops for record in tied)
    about_as_cheap = [
        r for r in tied if r.spec.gflops <= cheapest * (1 + settings.selection_cost_margin)
    ]
    return max(about_as_cheap, key=lambda record: (record.outcome.top1, -record.spec.gflops))


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
        inherit_from=parent.trial_id if settings.inherit and parent is not None else "",
    )
