"""A run folder's layout, and reading back what a search recorded in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from expansion.config_values import read_yaml_mapping
from expansion.errors import UserError
from expansion.results.store import (
    FINAL_YAML,
    HARDWARE_CSV,
    MEMBERS_CSV,
    PATH_CSV,
    TRIALS_CSV,
    TRIALS_PARQUET,
    ResultsStore,
    read_csv,
)
from search_spaces import DEFAULT_SPACE, SearchSpace, get_space

SETTINGS_YAML = "search.yaml"


def space_name(value: Any) -> str:
    """The search space a setting names: `x3d`, or `{name: x3d}` as runs before 0.2 wrote it."""
    if isinstance(value, Mapping):
        value = value.get("name")
    return str(value) if value else DEFAULT_SPACE


@dataclass(frozen=True)
class RunTable:
    """What the figures show of one run directory.

    `path` and `members` are empty and `final` None for a run that has not finished (or was
    killed); `members` is empty too for a search to one target, `hardware` (the search's own
    measurements, `hardware.csv`) for a search without hardware targets.
    """

    name: str
    space: SearchSpace
    trials: pd.DataFrame
    path: pd.DataFrame
    final: Mapping[str, Any] | None
    members: pd.DataFrame
    hardware: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def target_gflops(self) -> float | None:
        """The final model's target (the largest, for a search to several)."""
        target = (self.final or {}).get("target_gflops")
        return None if target is None else float(target)

    @property
    def targets(self) -> tuple[float, ...]:
        """Every target of the search, rising (none for a run that has not finished)."""
        if not self.members.empty:
            return tuple(float(target) for target in self.members["target_gflops"])
        return () if self.target_gflops is None else (self.target_gflops,)

    @property
    def target_latency_ms(self) -> float | None:
        target = (self.final or {}).get("target_latency_ms")
        return None if target is None else float(target)


def load_run(run_dir: Path) -> RunTable:
    """The trials, kept path and final model recorded in `run_dir`.

    The search space is the one the run's settings (`search.yaml`) or `final.yaml` name, else
    the default space.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    if not any((run_dir / name).exists() for name in (TRIALS_PARQUET, TRIALS_CSV)):
        raise UserError(f"{run_dir}: no trials table ({TRIALS_PARQUET} or {TRIALS_CSV})")
    final = read_yaml_mapping(run_dir / FINAL_YAML)
    settings = read_yaml_mapping(run_dir / SETTINGS_YAML) or {}
    space = get_space(space_name(settings.get("space") or (final or {}).get("space")))
    path, members = (_optional_csv(run_dir / name, space) for name in (PATH_CSV, MEMBERS_CSV))
    trials = ResultsStore(run_dir, space).table()
    measured = run_dir / HARDWARE_CSV
    hardware = pd.read_csv(measured) if measured.exists() else pd.DataFrame()
    return RunTable(run_dir.resolve().name, space, trials, path, final, members, hardware)


def _optional_csv(path: Path, space: SearchSpace) -> pd.DataFrame:
    """A table `ResultsStore` wrote, or an empty one if it is not there."""
    return read_csv(path, space) if path.exists() else pd.DataFrame()
