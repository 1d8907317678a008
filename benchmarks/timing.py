"""Timing shared by the benchmarks that train networks side by side."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable, Mapping

import torch
from torch import nn


def sgd_step(model: nn.Module, clips: torch.Tensor, labels: torch.Tensor) -> Callable[[], None]:
    """One training step of `model` (forward, backward, SGD) on `clips`, as a callable."""
    model = model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(clips), labels).backward()
        optimizer.step()

    return step


def interleaved_seconds(
    steps: Mapping[Hashable, Callable[[], None]], repeats: int, alternate: bool = False
) -> dict[Hashable, float]:
    """The median seconds of each step over `repeats` rounds that run every step once, after a
    warm-up round (oneDNN picks its kernels on the first call). Interleaving makes a machine
    whose speed drifts affect every step alike; `alternate` reverses the order every other
    round, so that no step always runs right after the same other one."""
    timings: dict[Hashable, list[float]] = {key: [] for key in steps}
    for step in steps.values():
        step()
    keys = list(steps)
    for round_ in range(repeats):
        for key in reversed(keys) if alternate and round_ % 2 else keys:
            start = time.perf_counter()
            steps[key]()
            timings[key].append(time.perf_counter() - start)
    return {key: statistics.median(series) for key, series in timings.items()}
