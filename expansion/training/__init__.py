"""Training: the schedule, the optimiser, one epoch of training and evaluation, and search trials.

`loop` is the core a full trainer shares with trials; `trial.run_trial` is what a dispatcher
calls on a worker.
"""

from expansion.training.loop import EpochStats, Evaluation, NonFiniteLoss, evaluate, train_one_epoch
from expansion.training.optim import build_sgd, param_groups, scaled_lr
from expansion.training.schedule import CosineSchedule
from expansion.training.settings import TrialJob, TrialSettings
from expansion.training.trial import run_trial, schedule_for

__all__ = [
    "CosineSchedule",
    "EpochStats",
    "Evaluation",
    "NonFiniteLoss",
    "TrialJob",
    "TrialSettings",
    "build_sgd",
    "evaluate",
    "param_groups",
    "run_trial",
    "scaled_lr",
    "schedule_for",
    "train_one_epoch",
]
