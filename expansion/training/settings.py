"""What a trial needs: its schedule (`TrialSettings`, one YAML file of `conf/trial/`) and the job
(`TrialJob`: search space, data, seed), both frozen and picklable for Ray workers; and what full
training adds to a schedule (`TrainSettings`, one YAML file of `conf/recipe/`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch

from expansion.data import DataSource, TestViews


@dataclass(frozen=True)
class TrialSettings:
    """A training schedule for candidates. Rates are per 128 clips, scaled with `batch_size`.

    `micro_batch_size` (None: the whole batch) is how many clips go through the model at once;
    BN statistics are computed over them and their gradients accumulate to one step of
    `batch_size`. `test_views` (`"KxS"`) are the views of the final evaluation; validation after
    the other epochs uses the centre clip only. `cpus` is also the number of torch threads;
    `gpus` > 0 trains on CUDA. `max_failures` is for the dispatcher (retries of a trial that
    raised).
    """

    epochs: int
    batch_size: int
    base_lr: float
    warmup_epochs: float
    warmup_start_lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-5
    dropout: float = 0.5
    micro_batch_size: int | None = None
    num_workers: int = 0
    test_views: str = "10x1"
    cpus: int = 1
    gpus: float = 0.0
    max_failures: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.cpus < 1:
            raise ValueError(f"epochs, batch_size and cpus must be positive: {self}")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(f"warmup_epochs must be in [0, epochs], got {self.warmup_epochs}")
        if self.base_lr <= 0 or self.warmup_start_lr < 0:
            raise ValueError(f"base_lr must be positive, warmup_start_lr not negative: {self}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.micro_batch_size is not None and not 1 <= self.micro_batch_size <= self.batch_size:
            raise ValueError(f"micro_batch_size must be in [1, batch_size]: {self}")
        if self.num_workers < 0 or self.gpus < 0 or self.max_failures < 0:
            raise ValueError(f"num_workers, gpus and max_failures must not be negative: {self}")
        TestViews.parse(self.test_views)

    @property
    def views(self) -> TestViews:
        return TestViews.parse(self.test_views)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrialSettings:
        """Settings from a plain mapping (a `conf/trial/*.yaml`); unknown keys are an error."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown trial settings: {', '.join(unknown)}")
        if values.get("gpus", 0.0) is None:  # null: one GPU per trial when CUDA is visible
            values = {**values, "gpus": 1.0 if torch.cuda.is_available() else 0.0}
        return cls(**values)


@dataclass(frozen=True)
class TrialJob:
    """Everything besides the candidate that a worker needs to train it.

    Data sources must hold absolute paths (workers run in other directories). `num_classes`
    sizes the classifier; `fps` resamples videos before the view's stride counts frames.
    """

    space: str
    train: DataSource
    val: DataSource
    num_classes: int
    seed: int
    settings: TrialSettings
    fps: float | None = None
    max_bad_share: float = 0.05


@dataclass(frozen=True)
class TrainSettings:
    """The recipe of full training: a schedule as trials have, plus what only full runs do.

    The schedule's `test_views` are the views of the final evaluation, after precise BN has
    recomputed BN statistics over `precise_bn_batches` training batches (0: not at all);
    validation after every epoch uses the centre clip. `cpus` are torch threads per worker,
    `max_failures` the restarts Ray Train allows. The newest `keep_checkpoints` epoch
    checkpoints stay on disk.
    """

    schedule: TrialSettings
    precise_bn_batches: int = 200
    keep_checkpoints: int = 2

    def __post_init__(self) -> None:
        if self.precise_bn_batches < 0 or self.keep_checkpoints < 1:
            raise ValueError(
                f"precise_bn_batches must not be negative, keep_checkpoints must be positive: "
                f"{self.precise_bn_batches}, {self.keep_checkpoints}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainSettings:
        """A recipe from a plain mapping (a `conf/recipe/*.yaml`); unknown keys are an error."""
        own = {field.name for field in fields(cls)} - {"schedule"}
        schedule = {key: value for key, value in values.items() if key not in own}
        return cls(
            TrialSettings.from_mapping(schedule),
            **{key: value for key, value in values.items() if key in own},
        )
