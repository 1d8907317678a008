"""The recipe of full training (`conf/recipe/*.yaml`): a schedule, resources, and what only full
runs do (precise BN, checkpoints kept)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from expansion.config_values import as_int
from expansion.errors import ConfigError
from expansion.training.resources import Resources, split_resources
from expansion.training.schedule import Schedule

RECIPE_KEYS = ("precise_bn_batches", "keep_checkpoints")


@dataclass(frozen=True)
class Recipe:
    """Full training: `schedule`, per-worker `resources` (`max_failures`: Ray Train restarts).

    The schedule's `test_views` are the views of the final evaluation, after precise BN has
    recomputed BN statistics over `precise_bn_batches` training batches (0: not at all);
    validation after every epoch uses the centre clip. The newest `keep_checkpoints` epoch
    checkpoints stay on disk.
    """

    schedule: Schedule
    resources: Resources
    precise_bn_batches: int = 200
    keep_checkpoints: int = 2

    def __post_init__(self) -> None:
        if self.precise_bn_batches < 0 or self.keep_checkpoints < 1:
            raise ConfigError(
                f"precise_bn_batches must not be negative, keep_checkpoints must be positive: "
                f"{self.precise_bn_batches}, {self.keep_checkpoints}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Recipe:
        """A recipe from a plain mapping (a `conf/recipe/*.yaml`); unknown keys are an error."""
        own = {key: as_int(values[key], f"recipe.{key}") for key in RECIPE_KEYS if key in values}
        rest, resources = split_resources(
            {key: value for key, value in values.items() if key not in RECIPE_KEYS}
        )
        return cls(
            Schedule.from_mapping(rest, "recipe"),
            Resources.from_mapping(resources, "recipe"),
            **own,
        )
