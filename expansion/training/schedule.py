"""The learning-rate schedule of X3D training: linear warm-up, then a half-period cosine to 0.

The cosine spans the whole schedule, epoch 0 to `total_epochs`; during the first `warmup_epochs`
the rate instead rises linearly from `start_lr` to the value the cosine has at the end of the
warm-up, so the curve is continuous there (the SlowFast convention the paper's recipe uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class CosineSchedule:
    """The rate at a fractional epoch (`epoch + step / steps_per_epoch`)."""

    peak_lr: float
    total_epochs: float
    warmup_epochs: float = 0.0
    start_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.total_epochs <= 0 or not 0 <= self.warmup_epochs <= self.total_epochs:
            raise ValueError(
                f"need 0 <= warmup_epochs <= total_epochs and total_epochs > 0, got {self}"
            )

    def cosine(self, epoch: float) -> float:
        return self.peak_lr * (1 + math.cos(math.pi * epoch / self.total_epochs)) / 2

    def __call__(self, epoch: float) -> float:
        if epoch < self.warmup_epochs:
            end = self.cosine(self.warmup_epochs)
            return self.start_lr + (end - self.start_lr) * epoch / self.warmup_epochs
        return self.cosine(min(epoch, self.total_epochs))
