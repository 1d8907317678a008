"""What a search will cost before it starts: the plan of steps and trials, and its time.

The estimate loads a batch of real training clips for two real candidates (the seed and one near
half the target) and times training and evaluation steps on them at the trials' batch size, on
the device trials will use; it fits seconds per clip (loading, training, evaluating) as linear
functions of GFLOPs and projects the expected path: each step `step_factor` × the GFLOPs of the
last (the coordinator sizes every candidate to that), one candidate per axis, plus the
contraction trials. Starting workers and building models and datasets are left out.
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
from expansion.search.complexity import config_complexity
from expansion.search.coordinator import SearchSettings
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
    label: str  # "seed", the step number, or "contr." for the contraction
    gflops: float
    trials: int
    seconds: float


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

    @property
    def trials(self) -> int:
        return sum(step.trials for step in self.steps)

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def trial_seconds(self, gflops: float) -> float:
        """Estimated wall seconds of one trial, allowing for trials that share the machine."""
        load, train, evaluate = (
            base + slope * gflops
            for base, slope in (self.load_seconds, self.train_seconds, self.eval_seconds)
        )
        seconds = self.train_clips * (load + train) + self.eval_clips * (load + evaluate)
        return seconds / self.parallel


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
    goal = min(settings.target_gflops, reach) / 2
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
    plan = Plan((), parallel, load, train, evaluate, train_clips, eval_clips)
    steps = [StepPlan(0, "seed", probed[0], 1, plan.trial_seconds(probed[0]))]
    gflops, multiplier = probed[0], _step_multiplier(space, search)
    while gflops < search.target_gflops and len(steps) <= search.max_steps:
        gflops *= multiplier
        step_seconds = len(search.axes) * plan.trial_seconds(gflops)
        steps.append(StepPlan(len(steps), str(len(steps)), gflops, len(search.axes), step_seconds))
    if gflops > search.target_gflops:  # the search contracts only if it overshoots
        contractions = 1 if search.contract == "last" else len(search.axes)
        target_seconds = contractions * plan.trial_seconds(search.target_gflops)
        target = search.target_gflops
        steps.append(StepPlan(len(steps), "contr.", target, contractions, target_seconds))
    return replace(plan, steps=tuple(steps))


def _fit(gflops: Sequence[float], seconds: Sequence[float]) -> Linear:
    """The line through two (GFLOPs, seconds) points, never falling and never below zero."""
    (g0, t0), (g1, t1) = zip(gflops, seconds, strict=True)
    if g1 == g0:  # a target under twice the seed's GFLOPs probes the seed twice
        return (t0 + t1) / 2, 0.0
    slope = max((t1 - t0) / (g1 - g0), 0.0)
    return max(t0 - slope * g0, 0.0), slope


def _step_multiplier(space: SearchSpace, search: SearchSettings) -> float:
    """The GFLOPs ratio of one step that the plan projects.

    With a `step_factor`, that factor: the coordinator sizes every candidate to it. Without one
    (each axis takes its paper step), the geometric mean of those steps' ratios from the seed.
    """
    if search.step_factor is not None:
        return search.step_factor
    seed = config_complexity(space, space.seed, search.num_classes).gflops
    ratios = [
        config_complexity(space, axis.expand(space.seed), search.num_classes).gflops / seed
        for axis in (space.axes[name] for name in search.axes)
    ]
    return math.exp(sum(math.log(ratio) for ratio in ratios) / len(ratios))


def _parallel_trials(resources: Resources, device: torch.device) -> int:
    if device.type == "cuda" and resources.gpus > 0:
        return max(1, math.floor(torch.cuda.device_count() / resources.gpus))
    return max(1, (os.cpu_count() or 1) // resources.cpus)
