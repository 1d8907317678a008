"""How fast a model runs on a device: inference latency at batch 1 and throughput at a batch.

Each figure is the median of `repeats` timed forward passes after `warmup` untimed ones, on the
threads (or GPU) the caller set up, in the memory format and precision trials train in. The
median, not the mean: a pass the operating system interrupted does not move it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from expansion.training import runtime
from search_spaces.base import InputView

REPEATS = 5
WARMUP = 1


@dataclass(frozen=True)
class Speed:
    """Milliseconds for one clip alone, and clips per second at `batch` clips a pass."""

    latency_ms: float
    throughput_clips_s: float
    batch: int


@dataclass(frozen=True)
class Latency:
    """Milliseconds for one clip: the median of the timed passes, and the fastest and slowest."""

    median_ms: float
    fastest_ms: float
    slowest_ms: float
    repeats: int


@torch.inference_mode()
def _seconds(
    model: nn.Module, clips: torch.Tensor, device: torch.device, repeats: int, warmup: int
) -> list[float]:
    """The seconds of each of `repeats` timed passes over `clips`, after `warmup` untimed."""
    timings = []
    for attempt in range(warmup + repeats):
        start = time.perf_counter()
        with runtime.autocast(device):
            model(clips)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
        if attempt >= warmup:
            timings.append(elapsed)
    return timings


def measure_latency(
    model: nn.Module,
    view: InputView,
    device: torch.device,
    repeats: int = REPEATS,
    warmup: int = WARMUP,
) -> Latency:
    """Latency at batch 1 of `model` (left in eval mode, already on `device`), with its spread."""
    model.eval()
    clip = runtime.to_device(torch.zeros(view.clip_shape(1)), device)
    timings = [1000 * seconds for seconds in _seconds(model, clip, device, repeats, warmup)]
    return Latency(statistics.median(timings), min(timings), max(timings), repeats)


def measure_speed(
    model: nn.Module,
    view: InputView,
    batch: int,
    device: torch.device,
    repeats: int = REPEATS,
    warmup: int = WARMUP,
) -> Speed:
    """Latency at batch 1 and throughput at `batch` of `model` (left in eval mode) on `device`.

    The model must already be on `device` (`runtime.prepare_model`); inputs are zeros, since the
    cost of a dense network does not depend on its input's values.
    """
    latency = measure_latency(model, view, device, repeats, warmup)
    many = runtime.to_device(torch.zeros(view.clip_shape(batch)), device)
    per_batch = statistics.median(_seconds(model, many, device, repeats, warmup))
    return Speed(latency.median_ms, batch / per_batch, batch)
