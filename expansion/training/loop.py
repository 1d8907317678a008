"""One epoch of training and one pass of evaluation: the core shared by trials and full training.

`evaluate` averages softmax scores over the views of each video (K-Center, 30-view, ...), mapping
dataset items to videos through the dataset's `view_of`, and returns per-video scores (and, when
asked, every view's) as well as top-k accuracies, so the evaluation entry point can save them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional

from expansion.training import runtime
from expansion.training.loaders import eval_loader

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
# Wraps a loader, e.g. in a progress bar; must keep the order of the batches.
Progress = Callable[[Iterable[Batch]], Iterable[Batch]]


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite; `epoch` and `step` count from 1."""

    def __init__(self, value: float, epoch: int, step: int) -> None:
        self.epoch, self.step = epoch, step
        kind = "NaN" if math.isnan(value) else "inf"
        super().__init__(f"loss became {kind} at epoch {epoch} step {step}")


@dataclass(frozen=True)
class EpochStats:
    """Mean training loss of an epoch, clips trained on, seconds taken, and the last rate."""

    loss: float
    clips: int
    seconds: float
    lr: float

    @property
    def clips_per_s(self) -> float:
        return self.clips / self.seconds if self.seconds > 0 else math.nan


def train_one_epoch(
    model: nn.Module,
    loader: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    schedule: Callable[[float], float],
    epoch: int,
    device: torch.device,
    micro_batch_size: int | None = None,
) -> EpochStats:
    """Train over `loader` once; `epoch` counts from 0 and positions the schedule.

    The rate is set before every step from the fractional epoch. Each batch is split into
    micro-batches of `micro_batch_size` clips whose gradients accumulate to one step: BN
    statistics are then computed over that many clips (the paper's 16) and memory bounded by it.
    Raises `NonFiniteLoss` at the first NaN or infinite loss, before the step that would apply it.
    """
    model.train()
    steps = len(loader)  # type: ignore[arg-type]
    total_loss, clips, lr = 0.0, 0, math.nan
    start = time.perf_counter()
    for step, (inputs, labels, _) in enumerate(loader):
        lr = schedule(epoch + step / steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        inputs, labels = runtime.to_device(inputs, device), labels.to(device)
        batch = len(labels)
        chunk = micro_batch_size or batch
        batch_loss = 0.0
        for part, part_labels in zip(inputs.split(chunk), labels.split(chunk), strict=True):
            with runtime.autocast(device):
                logits = model(part)
            loss = functional.cross_entropy(logits.float(), part_labels)
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLoss(value, epoch + 1, step + 1)
            (loss * (len(part_labels) / batch)).backward()
            batch_loss += value * len(part_labels)
        optimizer.step()
        total_loss += batch_loss
        clips += batch
    return EpochStats(total_loss / max(clips, 1), clips, time.perf_counter() - start, lr)


class VideoView(Protocol):
    video: int


class ViewDataset(Protocol):
    """A dataset of views `(clip, label, video)` that says which video item `i` belongs to."""

    num_videos: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]: ...

    def view_of(self, index: int) -> VideoView: ...


@dataclass(frozen=True)
class Evaluation:
    """Per-video softmax scores averaged over views, labels, and the mean loss over all views.

    `view_scores` (float32, one row per dataset item) is kept only when `evaluate` is asked to.
    """

    scores: torch.Tensor
    labels: torch.Tensor
    loss: float
    view_scores: torch.Tensor | None = None

    def top_k(self, k: int) -> float:
        """Share of videos whose label is among the `k` highest averaged scores."""
        k = min(k, self.scores.shape[1])
        hits = (self.scores.topk(k, dim=1).indices == self.labels[:, None]).any(dim=1)
        return hits.double().mean().item()

    @property
    def top1(self) -> float:
        return self.top_k(1)

    @property
    def top5(self) -> float:
        return self.top_k(5)

    def class_accuracy(self) -> dict[int, float]:
        """Top-1 accuracy of each class that occurs, by label."""
        correct = (self.scores.argmax(dim=1) == self.labels).double()
        return {int(c): correct[self.labels == c].mean().item() for c in self.labels.unique()}

    @property
    def mean_class_accuracy(self) -> float:
        """Top-1 accuracy averaged over the classes that occur."""
        accuracies = self.class_accuracy().values()
        return sum(accuracies) / len(accuracies)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    dataset: ViewDataset,
    device: torch.device,
    batch_size: int,
    num_workers: int = 0,
    progress: Progress | None = None,
    keep_views: bool = False,
) -> Evaluation:
    """Scores of every video of `dataset`: softmax of each view, averaged over its views.

    A video's label is the one its items carry (an unreadable video replaced by the data
    pipeline carries its replacement's label). `progress` wraps the loader (a progress bar);
    `keep_views` also returns each item's softmax scores (items × classes float32: large for
    30 views of a big dataset).
    """
    model.eval()
    videos = torch.tensor([dataset.view_of(i).video for i in range(len(dataset))])
    sums: torch.Tensor | None = None
    views = torch.zeros(dataset.num_videos, dtype=torch.float64)
    labels = torch.full((dataset.num_videos,), -1, dtype=torch.int64)
    total_loss, seen = 0.0, 0
    kept: list[torch.Tensor] = []
    loader: Iterable[Batch] = eval_loader(dataset, batch_size, num_workers, device.type == "cuda")  # type: ignore[arg-type]
    for inputs, batch_labels, _ in progress(loader) if progress else loader:
        with runtime.autocast(device):
            logits = model(runtime.to_device(inputs, device))
        logits = logits.float()
        total_loss += functional.cross_entropy(logits, batch_labels.to(device), reduction="sum")
        probabilities = logits.softmax(dim=1).cpu().double()
        if keep_views:
            kept.append(probabilities.float())
        if sums is None:
            sums = torch.zeros(dataset.num_videos, probabilities.shape[1], dtype=torch.float64)
        owners = videos[seen : seen + len(batch_labels)]
        sums.index_add_(0, owners, probabilities)
        views.index_add_(0, owners, torch.ones(len(owners), dtype=torch.float64))
        labels[owners] = batch_labels
        seen += len(batch_labels)
    if sums is None or bool((views == 0).any()):
        raise ValueError("evaluation needs at least one view of every video")
    view_scores = torch.cat(kept) if keep_views else None
    return Evaluation(sums / views[:, None], labels, float(total_loss) / seen, view_scores)
