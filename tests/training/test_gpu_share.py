"""The guard that keeps trials sharing a GPU (`trial.gpus` < 1) within their share of its
memory. No GPU is needed: the CUDA call is replaced by a recorder."""

from __future__ import annotations

import pytest
import torch

from expansion.training import runtime


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, torch.device]]:
    calls: list[tuple[float, torch.device]] = []
    monkeypatch.setattr(
        torch.cuda,
        "set_per_process_memory_fraction",
        lambda fraction, device: calls.append((fraction, device)),
    )
    return calls


def test_a_fractional_gpu_trial_is_capped_at_its_share(capped) -> None:
    device = torch.device("cuda", 0)
    runtime.limit_to_gpu_share(device, 0.25)
    assert capped == [(0.25, device)]


@pytest.mark.parametrize(
    ("device", "gpus"),
    [(torch.device("cuda", 0), 1.0), (torch.device("cuda", 0), 2.0), (torch.device("cpu"), 0.0)],
)
def test_whole_gpus_and_the_cpu_are_not_capped(capped, device, gpus) -> None:
    runtime.limit_to_gpu_share(device, gpus)
    assert capped == []
