"""Measured figures of configurations, for hardware targets, recorded in the run folder.

`HardwareTable` answers the coordinator's `Measures`. The first time a figure of a configuration
is asked for, it builds the model, measures it and appends a row to `hardware.csv` (rewritten
atomically); every later ask, in this process or after a resume, reads the row. Decisions that
rest on a measurement are so replayed from the record and never measured again, which keeps a
resumed search on the uninterrupted one's path whatever the noise of a second measurement.

Latency: a freshly built model (random weights: a dense network's cost does not depend on them)
in eval mode, one clip, on the trials' device with the threads a lone trial gets, the median of
LATENCY_REPEATS timed passes after LATENCY_WARMUP (the fastest and slowest are recorded beside
it). The search measures in its own process between steps, when its trials do not share the
machine, so every configuration is measured alike; a trial's own `latency_ms` is measured beside
the other trials of its step and decides nothing.

Memory: CUDA's peak allocated memory over TRAIN_STEPS training steps at the trials' micro-batch,
in the trials' precision. On a CPU the only per-process figure (`getrusage`'s peak resident set)
grows over the process's whole life and cannot be told apart per model, so `target_memory_mb`
needs trials on a GPU (`require_memory_device`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from expansion.errors import ConfigError
from expansion.results.atomic import write_atomically
from expansion.results.store import HARDWARE_CSV
from expansion.training import runtime
from expansion.training.latency import measure_latency
from expansion.training.optim import build_sgd
from expansion.training.schedule import Schedule
from search_spaces import SearchSpace

LATENCY_REPEATS = 9
LATENCY_WARMUP = 2
TRAIN_STEPS = 2
FIGURES = ("latency_ms", "memory_mb")


def require_memory_device(device: torch.device) -> None:
    """A one-line `ConfigError` where peak memory cannot be measured per model."""
    if device.type != "cuda":
        raise ConfigError(
            "target_memory_mb needs trials on a GPU (trial.gpus): on a CPU a process's peak "
            "memory only grows over its life and cannot be measured per model"
        )


class HardwareTable:
    """Recorded figures of configurations, measured on first request (see the module).

    Until `record_in` names the run folder, new measurements are kept in memory only (a search
    checks its targets against the seed before it writes anything); then they are written.
    The device is the one `gpus` asks for (`runtime.pick_device`), looked up at the first
    measurement: a search without hardware targets may plan GPU trials on a machine without one.
    """

    def __init__(
        self,
        space: SearchSpace,
        num_classes: int,
        schedule: Schedule,
        gpus: float | None,
        threads: int,
        run_dir: Path | None = None,
    ) -> None:
        self.space, self.num_classes = space, num_classes
        self.schedule, self.gpus, self.threads = schedule, gpus, threads
        self.rows: list[dict[str, Any]] = []
        self.values: dict[tuple[str, Any], float] = {}
        self.path: Path | None = None
        if run_dir is not None and (run_dir / HARDWARE_CSV).exists():
            self._load(run_dir / HARDWARE_CSV)

    def latency_ms(self, config: Any) -> float:
        return self._figure("latency_ms", config, self._measure_latency)

    def memory_mb(self, config: Any) -> float:
        return self._figure("memory_mb", config, self._measure_memory)

    def record(self, config: Any) -> dict[str, Any]:
        """The recorded row of every figure measured for `config`, by figure name."""
        config_fields = self.space.to_dict(config)
        return {
            row["figure"]: row
            for row in self.rows
            if {name: row[name] for name in config_fields} == config_fields
        }

    def record_in(self, run_dir: Path) -> None:
        """Write the table to `run_dir` now and after every new measurement."""
        self.path = run_dir / HARDWARE_CSV
        if self.rows:
            self._write()

    def _figure(
        self,
        figure: str,
        config: Any,
        measure: Callable[[nn.Module, torch.device, Any], dict[str, float]],
    ) -> float:
        key = (figure, config)
        if key not in self.values:
            device = runtime.pick_device(self.gpus)
            with runtime.seeded_run(0, self.threads, device):
                model = self.space.build(config, self.num_classes, self.schedule.dropout)
                measured = measure(runtime.prepare_model(model, device), device, config)
            row = {"figure": figure, **self.space.to_dict(config), **measured}
            row |= {"device": runtime.device_name(device), "threads": self.threads}
            self.rows.append(row)
            self.values[key] = measured["value"]
            if self.path is not None:
                self._write()
        return self.values[key]

    def _measure_latency(
        self, model: nn.Module, device: torch.device, config: Any
    ) -> dict[str, float]:
        view = self.space.input_view(config)
        latency = measure_latency(model, view, device, LATENCY_REPEATS, LATENCY_WARMUP)
        return {
            "value": latency.median_ms,
            "fastest": latency.fastest_ms,
            "slowest": latency.slowest_ms,
            "repeats": latency.repeats,
        }

    def _measure_memory(
        self, model: nn.Module, device: torch.device, config: Any
    ) -> dict[str, float]:
        require_memory_device(device)
        schedule = self.schedule.for_device(device.type)
        optimizer = build_sgd(model, schedule.momentum, schedule.nesterov, schedule.weight_decay)
        batch = schedule.forward_batch
        clips = torch.zeros(self.space.input_view(config).clip_shape(batch))
        clips = runtime.to_device(clips, device)
        labels = torch.zeros(batch, dtype=torch.long, device=device)
        model.train()
        runtime.reset_peak_memory(device)
        for _ in range(TRAIN_STEPS):
            optimizer.zero_grad(set_to_none=True)
            with runtime.autocast(device):
                logits = model(clips)
            nn.functional.cross_entropy(logits.float(), labels).backward()
            optimizer.step()
        peak = runtime.peak_memory_mb(device)
        return {"value": peak, "fastest": math.nan, "slowest": math.nan, "repeats": TRAIN_STEPS}

    def _load(self, path: Path) -> None:
        table = pd.read_csv(path)
        config_fields = list(self.space.to_dict(self.space.seed))
        for row in table.to_dict("records"):
            row = {name: _plain(value) for name, value in row.items()}
            config = self.space.from_dict({name: row[name] for name in config_fields})
            self.rows.append(row)
            self.values[(str(row["figure"]), config)] = float(row["value"])

    def _write(self) -> None:
        assert self.path is not None
        table = pd.DataFrame(self.rows)
        write_atomically(self.path, lambda path: table.to_csv(path, index=False))


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers."""
    return value.item() if hasattr(value, "item") else value
