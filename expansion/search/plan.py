"""What a search will cost before it starts: the plan of steps and trials, and its time.

The estimate loads a batch of real training clips for two real candidates (the seed and one near
half the largest target) and times training and evaluation steps on them at the trials' batch
size, on the device trials will use; it fits seconds per clip (loading, training, evaluating) as
linear functions of GFLOPs and projects the expected path: the trials the settings decide (the
seed, a replay and its contractions: `preview`) as they are, then each step the ratio by which
the seed's own candidates grow (the coordinator sizes each candidate to about `step_factor` × its
parent, a little under where an axis moves in coarse steps), one candidate per axis, plus the
contraction trials of each target. Where that ratio's spread over the axes decides whether a step
passes a target, the plan names the target (`borderline`): the kept axes decide the count. A
trial costs its share of a full trial's training epochs (`trial_share`): an inheriting one
trains `inherited_epochs`, a rung of successive halving the epochs past the previous rung's.
Starting workers and building models and datasets are left out. A hardware target is projected
as GFLOPs (`projected`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from expansion.data import ClipDataset
from expansion.search.budget import Measures
from expansion.search.complexity import config_complexity, gflops_of
from expansion.search.coordinator import SearchSettings, rung_sizes
from expansion.search.preview import preview
from expansion.search.records import TrialRecord, TrialSpec
from expansion.search.sizing import expand
from expansion.training import runtime
from expansion.training.resources import Resources
from expansion.training.schedule import Schedule
from search_spaces.base import InputView, SearchSpace

PROBE_STEPS = 2
# A linear function of GFLOPs: seconds at zero GFLOPs, and per GFLOP.
Linear = tuple[float, float]


@dataclass(frozen=True)
class StepPlan:
    step: int
    label: str  # "seed", the step number, or "contr." for a contraction
    gflops: float  # of the model the step keeps (a contraction: at most its target)
    trials: int
    seconds: float  # NaN in a plan without the probe (`untimed`)


@dataclass(frozen=True)
class Plan:
    """The expected search: trials and time per step, and how many trials run at once."""

    steps: tuple[StepPlan, ...]
    parallel: int
    load_seconds: Linear  # to load one clip
    train_seconds: Linear  # to train on one clip
    eval_seconds: Linear  # to evaluate one clip
    train_clips: int  # per trial
    eval_clips: int  # per trial
    goal_gflops: float = math.inf  # the largest target, as the plan projects it
    # Targets the path may pass one step earlier or later than projected, by the axes it keeps.
    borderline: tuple[float, ...] = ()
    # On resume: the recorded trials' wall time ÷ the probe's estimate for them, which scales
    # every time above, and how many trials it was taken over (0: not calibrated).
    calibration: float = 1.0
    calibrated_on: int = 0
    schedule: Schedule | None = None  # the trials' on their device (None: every trial a full one)

    @property
    def trials(self) -> int:
        return sum(step.trials for step in self.steps)

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def trial_seconds(self, gflops: float, share: float = 1.0) -> float:
        """Estimated wall seconds of one trial that trains `share` of a full trial's epochs,
        allowing for trials that share the machine."""
        load, train, evaluate = (
            base + slope * gflops
            for base, slope in (self.load_seconds, self.train_seconds, self.eval_seconds)
        )
        seconds = share * self.train_clips * (load + train) + self.eval_clips * (load + evaluate)
        return self.calibration * seconds / self.parallel

    def spec_seconds(self, spec: TrialSpec, search: SearchSettings) -> float:
        """`trial_seconds` of the trial `spec`, for its share of the epochs."""
        return self.trial_seconds(spec.gflops, trial_share(spec, search, self.schedule))


def _rung_epochs(trial: Schedule, inherit: bool, rungs: Sequence[float], rung: int) -> int:
    """The epochs a trial of `trial` trains in rung number `rung` of `rungs`: past the previous
    rung's end, of the inherited schedule where it inherits."""
    schedule = trial.for_inheriting() if inherit else trial
    start = schedule.rung_epochs(rungs[rung - 1]) if rung else 0
    return schedule.rung_epochs(rungs[rung]) - start


def trial_share(spec: TrialSpec, search: SearchSettings, trial: Schedule | None) -> float:
    """The share of a full from-scratch trial's training epochs that `spec` trains (1 without
    a schedule)."""
    if trial is None:
        return 1.0
    rungs = search.rungs if spec.budget < 1 or spec.resume_from else (1.0,)
    epochs = _rung_epochs(trial, bool(spec.inherit_from), rungs, rungs.index(spec.budget))
    return epochs / trial.epochs


def step_shares(
    search: SearchSettings, trial: Schedule | None, candidates: int, inherit: bool
) -> list[float]:
    """The `trial_share` of every trial a step of `candidates` trains, rung by rung."""
    sizes = rung_sizes(candidates, search)
    rungs = search.rungs if len(sizes) > 1 else (1.0,)
    return [
        _rung_epochs(trial, inherit, rungs, rung) / trial.epochs if trial else 1.0
        for rung, size in enumerate(sizes)
        for _ in range(size)
    ]


def _timed(step: Callable[[], object], device: torch.device) -> float:
    """The fastest of PROBE_STEPS runs of `step`, after one that warms up."""
    timings = []
    for _ in range(PROBE_STEPS + 1):
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timings.append(time.perf_counter() - start)
    return min(timings[1:])


def _probe_seconds_per_clip(
    model: nn.Module, dataset: ClipDataset, batch: int, device: torch.device
) -> tuple[float, float, float]:
    """Seconds per clip to load a batch of `dataset`'s clips, to train on it, to evaluate it."""
    start = time.perf_counter()
    items = [dataset[index % len(dataset)] for index in range(batch)]
    load = (time.perf_counter() - start) / batch
    model = runtime.prepare_model(model, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    clips = runtime.to_device(torch.stack([clip for clip, *_ in items]), device)
    labels = torch.zeros(batch, dtype=torch.long, device=device)

    def train() -> None:
        optimizer.zero_grad(set_to_none=True)
        with runtime.autocast(device):
            loss = nn.functional.cross_entropy(model(clips), labels)
        loss.backward()
        optimizer.step()

    def evaluate() -> None:
        with torch.no_grad(), runtime.autocast(device):
            model(clips)

    training = _timed(train, device)
    model.eval()
    return load, training / batch, _timed(evaluate, device) / batch


def probe_config(space: SearchSpace, settings: SearchSettings) -> Any:
    """A real candidate near half the largest model the search will train: the seed grown along
    the axes in turn. Bounded by `max_steps`, so a target far beyond them never builds a model
    too large for the machine."""
    seed = config_complexity(space, space.seed, settings.num_classes).gflops
    reach = seed * _step_multiplier(space, settings) ** settings.max_steps
    goal = min(settings.largest_target, reach) / 2
    config = space.seed
    for index in range(settings.max_steps * len(settings.axes)):
        if config_complexity(space, config, settings.num_classes).gflops >= goal:
            break
        config = space.axes[settings.axes[index % len(settings.axes)]].expand(config)
    return config


def estimate(
    space: SearchSpace,
    search: SearchSettings,
    trial: Schedule,
    resources: Resources,
    train_data: Callable[[InputView], ClipDataset],
    val_videos: int,
    sequential: bool = False,
) -> Plan:
    """The expected steps, trials and time, from a throughput probe on the trials' device.

    `train_data` builds the training set in a view: the probe loads real clips from it.
    """
    device = runtime.pick_device(resources.gpus)
    trial = trial.for_device(device.type)
    # A step trains one micro-batch at a time; its size decides which kernels the device runs.
    batch = trial.forward_batch
    probed: list[float] = []  # GFLOPs of the probed models
    seconds: list[tuple[float, float, float]] = []  # per clip: load, train, evaluate
    with runtime.seeded_run(0, resources.cpus, device):
        for config in (space.seed, probe_config(space, search)):
            dataset = train_data(space.input_view(config))
            model = space.build(config, search.num_classes, trial.dropout)
            probed.append(config_complexity(space, config, search.num_classes).gflops)
            seconds.append(_probe_seconds_per_clip(model, dataset, batch, device))
    views = trial.views.clips * trial.views.crops
    eval_clips = val_videos * (trial.validations - 1 + views)
    parallel = 1 if sequential else _parallel_trials(resources, device)
    train_clips = trial.epochs * len(dataset)
    load, train, evaluate = (_fit(probed, phase) for phase in zip(*seconds, strict=True))
    plan = Plan((), parallel, load, train, evaluate, train_clips, eval_clips, search.largest_target)
    return _projected_plan(space, search, replace(plan, schedule=trial))


def untimed(
    space: SearchSpace, search: SearchSettings, resources: Resources, sequential: bool = False
) -> Plan:
    """The expected steps and trials without the throughput probe: every time is NaN. GPU
    trials may be planned on a machine without a GPU (for a cluster): at a time per GPU."""
    if runtime.gpus_elsewhere(resources.gpus):
        parallel = max(1, math.floor(1 / runtime.resolve_gpus(resources.gpus)))
    else:
        parallel = _parallel_trials(resources, runtime.pick_device(resources.gpus))
    parallel = 1 if sequential else parallel
    unknown = (math.nan, math.nan)
    plan = Plan((), parallel, unknown, unknown, unknown, 0, 0, search.largest_target)
    return _projected_plan(space, search, plan)


def _projected_plan(space: SearchSpace, search: SearchSettings, plan: Plan) -> Plan:
    steps, borderline = project_steps(space, search, plan)
    return replace(plan, steps=steps, borderline=borderline)


def calibrated(
    space: SearchSpace, search: SearchSettings, plan: Plan, records: Sequence[TrialRecord]
) -> Plan:
    """`plan` with its times scaled to what the trials `records` holds took against what the
    plan gives them (those trained in this run: reused ones took no time here).

    The probe times one model alone for a few steps, while trials share the machine, load
    their clips as they train and validate after every epoch: on the 2-core CPU the benchmark's
    trials at 1.2 GFLOPs took 1.6× the probe's figure. A resumed search corrects its plan with
    its own record.
    """
    trained = [
        record for record in records if record.outcome.status == "ok" and not record.outcome.reused
    ]
    estimated = sum(plan.spec_seconds(record.spec, search) for record in trained)
    if not trained or not estimated > 0:  # no probe (`untimed`), or nothing trained here
        return plan
    measured = sum(record.outcome.wall_s for record in trained) / plan.parallel
    factor = plan.calibration * measured / estimated
    return _projected_plan(
        space, search, replace(plan, calibration=factor, calibrated_on=len(trained))
    )


def projected(space: SearchSpace, search: SearchSettings, measures: Measures) -> SearchSettings:
    """The settings as the plan projects them, with GFLOPs targets alone.

    A latency target becomes the GFLOPs at which latency would reach it if it grew in proportion
    to GFLOPs from the seed's (measured). Latency per GFLOP falls as models grow (on this CPU
    from ~100 ms per GFLOP at XS to 52-77 at L), so the plan may count a step too few. A memory
    target alone is not projected: the plan runs to `max_steps`.
    """
    if search.target_latency_ms is None and search.target_memory_mb is None:
        return search
    goal = search.largest_target
    if search.target_latency_ms is not None:
        seed = gflops_of(space, space.seed, search.num_classes)
        per_gflop = measures.latency_ms(space.seed) / seed
        goal = min(goal, search.target_latency_ms / per_gflop)
    return replace(search, target_gflops=(goal,), target_latency_ms=None, target_memory_mb=None)


def project_steps(
    space: SearchSpace, search: SearchSettings, plan: Plan
) -> tuple[tuple[StepPlan, ...], tuple[float, ...]]:
    """The expected steps: those the settings decide, as they will be trained (`preview`),
    then steps of one candidate per axis, each the seed candidates' mean ratio × the last, up
    to the largest target, with the contraction of each target a step overshoots. And the
    targets whose passing step the axes' spread of ratios leaves open (`Plan.borderline`)."""
    known = preview(space, search)
    steps = [_known_step(search, group, plan) for group in _steps_of(known.trials)]
    if known.complete:
        return tuple(steps), ()
    last = next(step for step in reversed(steps) if step.label != "contr.")
    ratios = _step_ratios(space, search)
    multiplier = _geometric_mean(ratios)
    step, gflops, start = last.step, last.gflops, last.gflops
    axes = len(search.axes)
    borderline = []
    for target in search.target_gflops[len(known.members) :]:
        reach = search.reach(target)
        while gflops < reach and step < search.max_steps:
            step, gflops = step + 1, gflops * multiplier
            steps.append(_projected_step(search, plan, step, str(step), gflops, axes))
        if gflops < reach:  # max_steps end below it
            break
        grown = step - last.step  # forward steps the projection took from the known ones
        if start * min(ratios) ** grown < reach or start * max(ratios) ** (grown - 1) >= reach:
            borderline.append(target)
        if gflops > target:  # the search contracts only if it overshoots
            contractions = 1 if search.contract == "last" else axes
            steps.append(_projected_step(search, plan, step + 1, "contr.", target, contractions))
    return tuple(steps), tuple(borderline)


def _projected_step(
    search: SearchSettings, plan: Plan, step: int, label: str, gflops: float, candidates: int
) -> StepPlan:
    """A step of `candidates` at about `gflops`, each inheriting where the search does."""
    shares = step_shares(search, plan.schedule, candidates, search.inherit)
    seconds = sum(plan.trial_seconds(gflops, share) for share in shares)
    return StepPlan(step, label, gflops, len(shares), seconds)


def _steps_of(trials: Sequence[TrialSpec]) -> list[list[TrialSpec]]:
    """`trials` in runs of the same step and phase."""
    groups: list[list[TrialSpec]] = []
    for spec in trials:
        if groups and (groups[-1][0].step, groups[-1][0].phase) == (spec.step, spec.phase):
            groups[-1].append(spec)
        else:
            groups.append([spec])
    return groups


def _known_step(search: SearchSettings, trials: Sequence[TrialSpec], plan: Plan) -> StepPlan:
    """The plan of one step the settings decide: its kept model's GFLOPs (the seed, the replayed
    axis's candidate, the largest contraction) and its trials (rung by rung) and time."""
    first = trials[0]
    shares = step_shares(search, plan.schedule, len(trials), bool(first.inherit_from))
    # the rungs after the first train the best candidates, not known before: their mean GFLOPs
    gflops_each = [spec.gflops for spec in trials]
    gflops_each += [sum(gflops_each) / len(trials)] * (len(shares) - len(trials))
    seconds = sum(map(plan.trial_seconds, gflops_each, shares))
    if first.phase == "contract":
        gflops = max(spec.gflops for spec in trials)
        return StepPlan(first.step, "contr.", gflops, len(shares), seconds)
    if first.step == 0:
        return StepPlan(0, "seed", first.gflops, 1, seconds)
    replayed = search.replayed_axis(first.step)
    kept = next(spec for spec in trials if spec.axis == replayed)
    return StepPlan(first.step, str(first.step), kept.gflops, len(shares), seconds)


def _fit(gflops: Sequence[float], seconds: Sequence[float]) -> Linear:
    """The line through two (GFLOPs, seconds) points, never falling and never below zero."""
    (g0, t0), (g1, t1) = zip(gflops, seconds, strict=True)
    if g1 == g0:  # a target under twice the seed's GFLOPs probes the seed twice
        return (t0 + t1) / 2, 0.0
    slope = max((t1 - t0) / (g1 - g0), 0.0)
    return max(t0 - slope * g0, 0.0), slope


def _step_multiplier(space: SearchSpace, search: SearchSettings) -> float:
    """The GFLOPs ratio of one step that the plan projects: the geometric mean over the axes of
    how much the seed's candidate along each grows it. With a `step_factor` that is a little
    under the factor (an axis that moves in whole frames or pixels stops at the last size within
    it); without one, each axis takes its paper step."""
    return _geometric_mean(_step_ratios(space, search))


def _step_ratios(space: SearchSpace, search: SearchSettings) -> list[float]:
    """GFLOPs of the seed's candidate along each axis ÷ the seed's (axes that cannot grow it
    left out)."""
    seed = gflops_of(space, space.seed, search.num_classes)
    grown = (
        expand(space, space.seed, axis, search.step_factor, search.num_classes)
        for axis in search.axes
    )
    return [gflops_of(space, config, search.num_classes) / seed for config in grown if config]


def _geometric_mean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(value) for value in values) / len(values))


def _parallel_trials(resources: Resources, device: torch.device) -> int:
    if device.type == "cuda" and resources.gpus > 0:
        return max(1, math.floor(torch.cuda.device_count() / resources.gpus))
    return max(1, (os.cpu_count() or 1) // resources.cpus)
