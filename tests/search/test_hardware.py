"""The recorded table of measured figures: measured once, written, read back without measuring."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from expansion.errors import ConfigError
from expansion.results.store import HARDWARE_CSV
from expansion.search import hardware
from expansion.search.hardware import HardwareTable
from expansion.training.latency import Latency
from expansion.training.schedule import Schedule
from search_spaces.x3d import X3D_SPACE

SCHEDULE = Schedule(epochs=1, batch_size=2, base_lr=0.1, warmup_epochs=0.0)
SEED = X3D_SPACE.seed
WIDER = replace(SEED, crop=160)


def table(run_dir: Path | None = None, gpus: float = 0.0) -> HardwareTable:
    return HardwareTable(X3D_SPACE, 6, SCHEDULE, gpus, 1, run_dir)


def test_each_figure_is_measured_once_and_read_back_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    timed: list[Any] = []

    def clock(model: Any, view: Any, device: Any, repeats: int, warmup: int) -> Latency:
        timed.append(model.config)
        return Latency(float(view.crop), view.crop - 1.0, view.crop + 2.0, repeats)

    monkeypatch.setattr(hardware, "measure_latency", clock)
    first = table()
    assert first.latency_ms(SEED) == 112.0
    first.record_in(tmp_path)  # what was measured before the folder was named is written now
    assert [first.latency_ms(config) for config in (SEED, WIDER, WIDER)] == [112.0, 160.0, 160.0]
    assert timed == [SEED, WIDER]
    row = first.record(WIDER)["latency_ms"]
    assert (row["fastest"], row["slowest"], row["threads"]) == (159.0, 162.0, 1)
    again = table(tmp_path)
    assert (again.latency_ms(SEED), again.latency_ms(WIDER)) == (112.0, 160.0)
    assert timed == [SEED, WIDER]  # nothing measured again
    assert again.record(WIDER) == first.record(WIDER)


def test_a_table_not_told_its_folder_writes_nothing(tmp_path: Path) -> None:
    measures = table(tmp_path)
    assert measures.latency_ms(SEED) > 0
    assert not (tmp_path / HARDWARE_CSV).exists()


def test_memory_is_refused_on_a_cpu() -> None:
    with pytest.raises(ConfigError, match="target_memory_mb needs trials on a GPU"):
        table().memory_mb(SEED)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="peak memory is measured on a GPU")
def test_peak_training_memory_grows_with_the_model() -> None:
    measures = table(gpus=1.0)
    assert 0 < measures.memory_mb(SEED) < measures.memory_mb(replace(SEED, crop=224))
