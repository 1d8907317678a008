"""Speed measurements: medians of timed passes after a warm-up, of the batch sizes asked for."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from expansion.training import latency
from expansion.training.latency import measure_speed
from search_spaces.base import InputView

VIEW = InputView(frames=2, stride=4, crop=16)


class Recorder(nn.Module):
    """Records the batch size of every forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        self.batches.append(len(clips))
        return clips.mean(dim=(1, 2, 3, 4)) * self.scale


def fake_clock(durations: list[float]) -> Iterator[float]:
    """perf_counter values such that consecutive (start, end) pairs last `durations`."""
    now = 0.0
    for duration in durations:
        yield now
        now += duration
        yield now


def test_latency_and_throughput_are_medians_after_the_warm_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # batch 1: warm-up 9 s, then 3, 1, 2 → median 2 s; batch 8: warm-up 9, then 4, 8, 6 → 6 s
    clock = fake_clock([9, 3, 1, 2, 9, 4, 8, 6])
    monkeypatch.setattr(latency, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    model = Recorder()
    speed = measure_speed(model, VIEW, 8, torch.device("cpu"), repeats=3, warmup=1)
    assert speed.latency_ms == pytest.approx(2000.0)
    assert speed.throughput_clips_s == pytest.approx(8 / 6)
    assert model.batches == [1, 1, 1, 1, 8, 8, 8, 8] and not model.training


def test_a_real_model_takes_measurable_time() -> None:
    model = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten())
    speed = measure_speed(model, VIEW, 4, torch.device("cpu"))
    assert speed.latency_ms > 0 and speed.throughput_clips_s > 0 and speed.batch == 4
