"""How a model is trained: the optimisation schedule (`Schedule`) and its learning-rate curve.

A `Schedule` is what `conf/trial/*.yaml` and `conf/recipe/*.yaml` say about training itself;
where it runs (threads, GPUs, retries) is `expansion.training.resources.Resources`. The rate
follows X3D training: linear warm-up, then a half-period cosine to 0 (`CosineSchedule`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from expansion.config_values import dataclass_values
from expansion.data import TestViews
from expansion.errors import ConfigError
from expansion.training.optim import scaled_lr


@dataclass(frozen=True)
class CosineSchedule:
    """The rate at a fractional epoch (`epoch + step / steps_per_epoch`).

    The cosine spans the whole schedule, epoch 0 to `total_epochs`; during the first
    `warmup_epochs` the rate instead rises linearly from `start_lr` to the value the cosine has
    at the end of the warm-up, so the curve is continuous there (the SlowFast convention the
    paper's recipe uses).
    """

    peak_lr: float
    total_epochs: float
    warmup_epochs: float = 0.0
    start_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.total_epochs <= 0 or not 0 <= self.warmup_epochs <= self.total_epochs:
            raise ConfigError(
                f"need 0 <= warmup_epochs <= total_epochs and total_epochs > 0, got {self}"
            )

    def cosine(self, epoch: float) -> float:
        return self.peak_lr * (1 + math.cos(math.pi * epoch / self.total_epochs)) / 2

    def __call__(self, epoch: float) -> float:
        if epoch < self.warmup_epochs:
            end = self.cosine(self.warmup_epochs)
            return self.start_lr + (end - self.start_lr) * epoch / self.warmup_epochs
        return self.cosine(min(epoch, self.total_epochs))


@dataclass(frozen=True)
class Schedule:
    """A training schedule. Rates are per 128 clips, scaled with `batch_size`.

    `micro_batch_size` (None: the whole batch) is how many clips go through the model at once;
    BN statistics are computed over them and their gradients accumulate to one step of
    `batch_size`. `test_views` (`"KxS"`) are the views of the final evaluation; with
    `validate_every_epoch` the other epochs are validated too, on the centre clip only (a curve to
    look at; it costs a forward pass over the validation set per epoch). `cuda` holds values
    that replace these when the job runs on a GPU (`for_device`): a GPU trains more clips in the
    same time, so a short trial can afford more epochs there. A trial that starts from its
    parent's weights trains `inherited_epochs` (None: `epochs`; `for_inheriting`).
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
    validate_every_epoch: bool = True
    inherited_epochs: int | None = None
    cuda: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be positive: {self}")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ConfigError(f"warmup_epochs must be in [0, epochs], got {self.warmup_epochs}")
        if self.base_lr <= 0 or self.warmup_start_lr < 0:
            raise ConfigError(f"base_lr must be positive, warmup_start_lr not negative: {self}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.micro_batch_size is not None and not 1 <= self.micro_batch_size <= self.batch_size:
            raise ConfigError(f"micro_batch_size must be in [1, batch_size]: {self}")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must not be negative: {self}")
        if self.inherited_epochs is not None and self.inherited_epochs < 1:
            raise ConfigError(f"inherited_epochs must be positive, got {self.inherited_epochs}")
        TestViews.parse(self.test_views)
        if self.cuda:
            self.for_device("cuda")  # its values are checked like the others

    def for_inheriting(self) -> Schedule:
        """The schedule of a trial that starts from its parent's weights."""
        if self.inherited_epochs is None or self.inherited_epochs == self.epochs:
            return self
        epochs = self.inherited_epochs
        return replace(self, epochs=epochs, warmup_epochs=min(self.warmup_epochs, epochs))

    def rung_epochs(self, budget: float) -> int:
        """The epoch a rung of `budget` (a share of this schedule's epochs) trains up to: rungs
        end on whole epochs, the first after one epoch at least."""
        return max(1, round(budget * self.epochs))

    def for_device(self, device_type: str) -> Schedule:
        """The schedule a job on `device_type` ("cpu", "cuda") follows."""
        if device_type != "cuda" or not self.cuda:
            return self
        values = dataclass_values(type(self), self.cuda, "cuda")
        if "cuda" in values:
            raise ConfigError("cuda: a cuda block cannot hold another one")
        return replace(self, **values, cuda=None)

    @property
    def views(self) -> TestViews:
        return TestViews.parse(self.test_views)

    @property
    def validations(self) -> int:
        """Validation passes per run: one per epoch, or only the final one."""
        return self.epochs if self.validate_every_epoch else 1

    @property
    def forward_batch(self) -> int:
        """Clips per forward pass: the micro-batch, else the whole batch."""
        return self.micro_batch_size or self.batch_size

    def learning_rate(self) -> CosineSchedule:
        """The warm-up + cosine curve of this schedule at its batch size."""
        return CosineSchedule(
            peak_lr=scaled_lr(self.base_lr, self.batch_size),
            total_epochs=self.epochs,
            warmup_epochs=self.warmup_epochs,
            start_lr=scaled_lr(self.warmup_start_lr, self.batch_size),
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "trial") -> Schedule:
        """A schedule from a plain mapping; unknown keys are a `ConfigError`."""
        return cls(**dataclass_values(cls, values, where))
