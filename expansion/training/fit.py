"""Full training of one network with a recipe: the loop every data-parallel worker runs.

`train_worker` is the same code on one device and on each of N Ray Train workers (which pass
their rank and a `wrap` that makes the model data-parallel). Worker 0 alone validates, logs and
writes to the run folder:

- `checkpoints/epoch_NNNN.pt` after every epoch (model, optimiser state and epoch, in the
  project's checkpoint format); a worker always continues from the newest one, so a killed or
  restarted run resumes where it stopped;
- `metrics.csv` and `tensorboard/`: learning rate, training loss, validation top-1/top-5/loss
  (centre clip) and throughput per epoch;
- `final.pt` and `final.json`: the model after precise BN and its evaluation on the recipe's
  test views.

Randomness (initial weights, clips, shuffling, dropout) is a function of the seed, the epoch and
the worker's rank, so a resumed run trains exactly as an uninterrupted one and checkpoints need
no random-generator state.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from expansion.data import DataConfig
from expansion.data.datasets import ClipDataset
from expansion.data.sampling import SINGLE_VIEW
from expansion.errors import CheckpointError, ConfigError
from expansion.results.checkpoints import load_checkpoint, save_checkpoint
from expansion.training import runtime
from expansion.training.loaders import sharded_train_loader
from expansion.training.loop import Batch, EpochStats, Evaluation, evaluate, train_one_epoch
from expansion.training.optim import build_sgd
from expansion.training.precise_bn import recompute_bn_stats
from expansion.training.recipe import Recipe
from search_spaces.base import SearchSpace

CHECKPOINTS = "checkpoints"
FINAL_CHECKPOINT = "final.pt"
FINAL_METRICS = "final.json"
METRICS = "metrics.csv"
METRIC_FIELDS = (
    "epoch",
    "lr",
    "train_loss",
    "val_top1",
    "val_top5",
    "val_loss",
    "clips_per_s",
    "seconds",
)


@dataclass(frozen=True)
class TrainPlan:
    """What a training worker needs; paths absolute (Ray workers run in other folders).

    `init_checkpoint` (any supported format) gives the starting weights of a new run.
    """

    space: SearchSpace
    config: Any
    data: DataConfig
    recipe: Recipe
    seed: int
    out_dir: Path
    init_checkpoint: Path | None = None

    def datasets(self) -> tuple[ClipDataset, ClipDataset, ClipDataset]:
        """Training clips, centre-clip validation views and the recipe's final test views."""
        view = self.space.input_view(self.config)
        train = self.data.dataset("train", view, "train", seed=self.seed)
        centre = self.data.dataset("val", view, "val", test_views=SINGLE_VIEW, seed=self.seed)
        final_views = self.recipe.schedule.views
        final = self.data.dataset("val", view, "val", test_views=final_views, seed=self.seed)
        return train, centre, final


def check_plan(plan: TrainPlan, world: int) -> None:
    """Raise a one-line `ConfigError` for what would fail later: data, batch split, checkpoint."""
    schedule = plan.recipe.schedule
    if world < 1 or schedule.batch_size % world:
        raise ConfigError(f"batch_size {schedule.batch_size} does not split over {world} workers")
    per_worker = schedule.batch_size // world
    if schedule.micro_batch_size is not None and schedule.micro_batch_size > per_worker:
        raise ConfigError(
            f"micro_batch_size {schedule.micro_batch_size} exceeds the {per_worker} clips "
            f"each of {world} workers gets"
        )
    train, _, _ = plan.datasets()
    if len(train) < schedule.batch_size:
        raise ConfigError(
            f"{len(train)} training videos are fewer than one batch of {schedule.batch_size}"
        )
    if plan.init_checkpoint is not None:
        load_checkpoint(plan.init_checkpoint, plan.space, plan.config, plan.data.num_classes)


def checkpoint_path(out_dir: Path, epoch: int) -> Path:
    return out_dir / CHECKPOINTS / f"epoch_{epoch:04d}.pt"


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The checkpoint of the highest epoch in `out_dir`, if any."""
    return max((out_dir / CHECKPOINTS).glob("epoch_*.pt"), default=None)


def _seed(seed: int, epoch: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def _starting_point(
    plan: TrainPlan, stream: TextIO
) -> tuple[nn.Module, int, dict[str, Any] | None]:
    """The model, the number of epochs done and the optimiser state to continue from.

    The newest readable epoch checkpoint wins; one that cannot be read (truncated by a full disk,
    damaged in a copy) is named and the one before it is used.
    """
    dropout, classes = plan.recipe.schedule.dropout, plan.data.num_classes
    for path in sorted((plan.out_dir / CHECKPOINTS).glob("epoch_*.pt"), reverse=True):
        try:
            loaded = load_checkpoint(path, plan.space, plan.config, classes, dropout)
        except CheckpointError as error:
            print(f"skipping an unreadable checkpoint: {error}", file=stream)
            continue
        return loaded.model, int(loaded.extra["epoch"]), loaded.extra["optimizer"]
    if plan.init_checkpoint is not None:
        loaded = load_checkpoint(plan.init_checkpoint, plan.space, plan.config, classes, dropout)
        return loaded.model, 0, None
    return plan.space.build(plan.config, classes, dropout), 0, None


class MetricsLog:
    """Per-epoch metrics appended to `metrics.csv` and written to TensorBoard.

    Opening it for a run resumed after `done` epochs drops what a killed run logged past them,
    so no epoch appears twice.
    """

    def __init__(self, out_dir: Path, done: int) -> None:
        from tensorboardX import SummaryWriter  # imported by the one worker that logs

        self.path = out_dir / METRICS
        rows = []
        if self.path.exists():
            with self.path.open() as file:
                rows = [row for row in csv.DictReader(file) if int(row["epoch"]) <= done]
        with self.path.open("w", newline="") as file:
            writer = csv.DictWriter(file, METRIC_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self.tensorboard = SummaryWriter(str(out_dir / "tensorboard"), purge_step=done + 1)

    def epoch(self, row: dict[str, float]) -> None:
        with self.path.open("a", newline="") as file:
            csv.DictWriter(file, METRIC_FIELDS).writerow(row)
        for name, value in row.items():
            if name != "epoch":
                self.tensorboard.add_scalar(name, value, int(row["epoch"]))
        self.tensorboard.flush()

    def final(self, metrics: dict[str, Any], epoch: int) -> None:
        for name in ("top1", "top5", "mean_class_accuracy", "loss"):
            self.tensorboard.add_scalar(f"final/{name}", metrics[name], epoch)
        self.tensorboard.close()


def _row(epoch: int, stats: EpochStats, evaluation: Evaluation, world: int) -> dict[str, float]:
    return {
        "epoch": epoch,
        "lr": stats.lr,
        "train_loss": stats.loss,
        "val_top1": evaluation.top1,
        "val_top5": evaluation.top5,
        "val_loss": evaluation.loss,
        "clips_per_s": stats.clips * world / stats.seconds,
        "seconds": stats.seconds,
    }


def train_worker(
    plan: TrainPlan,
    device: torch.device,
    rank: int = 0,
    world: int = 1,
    wrap: Callable[[nn.Module], nn.Module] = lambda model: model,
    stream: TextIO = sys.stderr,
) -> dict[str, Any] | None:
    """Train from the newest checkpoint in `plan.out_dir` (or from the start) to the end.

    Returns the final evaluation's metrics on worker 0, `None` on the others.
    """
    schedule = plan.recipe.schedule
    with runtime.seeded_run(plan.seed, plan.recipe.resources.cpus, device):
        model, done, optimizer_state = _starting_point(plan, stream)
        model = runtime.prepare_model(model, device)
        optimizer = build_sgd(model, schedule.momentum, schedule.nesterov, schedule.weight_decay)
        if optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)
        run = _Run(plan, device, rank, world, stream)
        if done and run.lead:
            print(f"resuming after epoch {done} of {schedule.epochs}", file=stream)
        log = MetricsLog(plan.out_dir, done) if run.lead else None
        trained = wrap(model)
        for epoch in range(done, schedule.epochs):
            stats = run.train_epoch(trained, optimizer, epoch)
            if log is not None:
                run.validate_and_save(model, optimizer, epoch, stats, log)
        return run.finish(model, log) if log is not None else None


class _Run:
    """One worker's datasets and the steps of a run; worker 0 (`lead`) also evaluates and writes."""

    def __init__(
        self, plan: TrainPlan, device: torch.device, rank: int, world: int, stream: TextIO
    ) -> None:
        self.plan, self.device, self.rank, self.world, self.stream = (
            plan,
            device,
            rank,
            world,
            stream,
        )
        self.lead = rank == 0
        self.schedule = plan.recipe.schedule
        self.rate = self.schedule.learning_rate()
        # Clips per forward pass outside training steps (validation, precise BN).
        self.eval_batch = self.schedule.micro_batch_size or self.schedule.batch_size // world
        self.train_set, self.centre_set, self.final_set = plan.datasets()
        if self.lead:
            (plan.out_dir / CHECKPOINTS).mkdir(parents=True, exist_ok=True)

    def bar(self, batches: Iterable[Batch], what: str) -> Iterable[Batch]:
        disable = None if self.lead else True  # None: a bar only on a terminal
        return tqdm(
            batches, desc=what, unit="batch", leave=False, disable=disable, file=self.stream
        )

    def train_epoch(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int
    ) -> EpochStats:
        torch.manual_seed(_seed(self.plan.seed, epoch, self.rank))
        self.train_set.set_epoch(epoch)
        loader = sharded_train_loader(
            self.train_set,
            self.schedule.batch_size,
            self.rank,
            self.world,
            self.schedule.num_workers,
            self.plan.seed,
            epoch,
            pin_memory=self.device.type == "cuda",
        )
        batches = self.bar(loader, f"epoch {epoch + 1}/{self.schedule.epochs}")
        micro = self.schedule.micro_batch_size
        return train_one_epoch(model, batches, optimizer, self.rate, epoch, self.device, micro)

    def evaluate(self, model: nn.Module, dataset: ClipDataset, what: str) -> Evaluation:
        return evaluate(
            model,
            dataset,
            self.device,
            self.eval_batch,
            self.schedule.num_workers,
            lambda batches: self.bar(batches, what),
        )

    def validate_and_save(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        stats: EpochStats,
        log: MetricsLog,
    ) -> None:
        """Validate on the centre clip, log, checkpoint, and drop checkpoints past the kept."""
        evaluation = self.evaluate(model, self.centre_set, "validating")
        row = _row(epoch + 1, stats, evaluation, self.world)
        log.epoch(row)
        print(
            f"epoch {epoch + 1}/{self.schedule.epochs}: lr {stats.lr:.4g}, train loss "
            f"{stats.loss:.4f}, val top-1 {evaluation.top1:.1%} top-5 {evaluation.top5:.1%} "
            f"loss {evaluation.loss:.4f}, {row['clips_per_s']:.1f} clips/s",
            file=self.stream,
        )
        extra = {"epoch": epoch + 1, "optimizer": optimizer.state_dict()}
        out_dir = self.plan.out_dir
        path = checkpoint_path(out_dir, epoch + 1)
        save_checkpoint(path, self.plan.space, model, self.plan.config, extra)
        kept = self.plan.recipe.keep_checkpoints
        for old in sorted((out_dir / CHECKPOINTS).glob("epoch_*.pt"))[:-kept]:
            old.unlink()

    def finish(self, model: nn.Module, log: MetricsLog) -> dict[str, Any]:
        """Precise BN, the final evaluation on the recipe's test views, `final.pt/json`."""
        epochs = self.schedule.epochs
        loader = sharded_train_loader(
            self.train_set,
            self.eval_batch,
            0,
            1,
            self.schedule.num_workers,
            self.plan.seed,
            epochs,  # clips no training epoch drew
            pin_memory=self.device.type == "cuda",
        )
        batches = self.bar(loader, "precise BN")
        wanted = self.plan.recipe.precise_bn_batches
        used = recompute_bn_stats(model, batches, wanted, self.device)
        evaluation = self.evaluate(model, self.final_set, "testing")
        metrics = {
            "top1": evaluation.top1,
            "top5": evaluation.top5,
            "mean_class_accuracy": evaluation.mean_class_accuracy,
            "loss": evaluation.loss,
            "views": self.schedule.test_views,
            "epochs": epochs,
            "precise_bn_batches": used,
        }
        out_dir = self.plan.out_dir
        extra = {"epoch": epochs, "metrics": metrics}
        save_checkpoint(out_dir / FINAL_CHECKPOINT, self.plan.space, model, self.plan.config, extra)
        (out_dir / FINAL_METRICS).write_text(json.dumps(metrics, indent=1) + "\n")
        log.final(metrics, epochs)
        print(
            f"final ({self.schedule.test_views} views, precise BN over {used} batches): top-1 "
            f"{evaluation.top1:.1%}, top-5 {evaluation.top5:.1%}, mean class accuracy "
            f"{evaluation.mean_class_accuracy:.1%}",
            file=self.stream,
        )
        return metrics
