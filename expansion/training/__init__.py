"""Training: how (`schedule`), where (`resources`, `runtime`, `ray_session`), the shared core
(`loop`, `loaders`, `optim`, `precise_bn`), and its two users: a search trial (`trial`) and full
training with a recipe (`recipe`, `fit`, `distributed`), which depend on the core, not on each
other.
"""

from expansion.training.loop import EpochStats, Evaluation, NonFiniteLoss, evaluate, train_one_epoch
from expansion.training.optim import build_sgd, param_groups, scaled_lr
from expansion.training.resources import Resources
from expansion.training.schedule import CosineSchedule, Schedule

__all__ = [
    "CosineSchedule",
    "EpochStats",
    "Evaluation",
    "NonFiniteLoss",
    "Resources",
    "Schedule",
    "build_sgd",
    "evaluate",
    "param_groups",
    "scaled_lr",
    "train_one_epoch",
]
