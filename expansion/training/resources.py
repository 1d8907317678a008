"""Where a job runs: CPU threads and GPU share per trial or worker, and retries after a crash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from expansion.config_values import dataclass_values
from expansion.errors import ConfigError
from expansion.training.runtime import resolve_gpus
from expansion.training.schedule import Schedule


@dataclass(frozen=True)
class Resources:
    """`cpus` (also torch threads) and `gpus` (> 0 trains on CUDA; fractions share a GPU) per
    trial or worker; `max_failures` retries of one that crashed."""

    cpus: int = 1
    gpus: float = 0.0
    max_failures: int = 1

    def __post_init__(self) -> None:
        if self.cpus < 1:
            raise ConfigError(f"cpus must be positive, got {self.cpus}")
        if self.gpus < 0 or self.max_failures < 0:
            raise ConfigError(f"gpus and max_failures must not be negative: {self}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "trial") -> Resources:
        """Resources from a plain mapping; `gpus: null` is one GPU when CUDA is visible."""
        typed = dataclass_values(cls, values, where)
        if "gpus" in typed:
            typed["gpus"] = resolve_gpus(typed["gpus"])
        return cls(**typed)


RESOURCE_KEYS = frozenset(field.name for field in fields(Resources))


def split_resources(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A `conf/trial` or `conf/recipe` mapping cut into its schedule part and its resources."""
    resources = {key: value for key, value in values.items() if key in RESOURCE_KEYS}
    rest = {key: value for key, value in values.items() if key not in RESOURCE_KEYS}
    return rest, resources


def trial_settings(values: Mapping[str, Any]) -> tuple[Schedule, Resources]:
    """The schedule and resources of a `conf/trial/*.yaml` mapping; unknown keys are an error."""
    schedule, resources = split_resources(values)
    return Schedule.from_mapping(schedule, "trial"), Resources.from_mapping(resources, "trial")
