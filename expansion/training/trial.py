"""One search trial: train a candidate on its own input view with a short schedule, measure it.

Exceptions (bad data, out of memory) propagate so the dispatcher can record or retry them; a
loss that becomes NaN is a result, not an error (the same seed would give it again), and comes
back as a failed outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from torch import nn

from expansion.data import TestViews, build_dataset
from expansion.records import TrialOutcome, TrialSpec
from expansion.training import runtime
from expansion.training.loaders import train_loader
from expansion.training.loop import Evaluation, NonFiniteLoss, evaluate, train_one_epoch
from expansion.training.optim import build_sgd, scaled_lr
from expansion.training.schedule import CosineSchedule
from expansion.training.settings import TrialJob, TrialSettings
from search_spaces import get_space

Report = Callable[[dict[str, Any]], None]
CENTRE_VIEW = TestViews(1, 1)


def schedule_for(settings: TrialSettings) -> CosineSchedule:
    """The settings' warm-up + cosine schedule at their batch size."""
    return CosineSchedule(
        peak_lr=scaled_lr(settings.base_lr, settings.batch_size),
        total_epochs=settings.epochs,
        warmup_epochs=settings.warmup_epochs,
        start_lr=scaled_lr(settings.warmup_start_lr, settings.batch_size),
    )


def set_dropout(model: nn.Module, rate: float) -> None:
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = rate


def run_trial(spec: TrialSpec, job: TrialJob, report: Report | None = None) -> TrialOutcome:
    """Train `spec.config` with `job.settings` and return its outcome.

    After every epoch `report` receives `epoch` (from 1), validation `top1`, `top5` and `loss`
    (centre view; after the last epoch, the final `test_views`), `train_loss`, `lr`, and the
    outcome fields so far (`epochs`, `epoch_top1`, `wall_s`, `clips_per_s`, `peak_memory_mb`,
    `device`), enough to rebuild an outcome if a scheduler stops the trial early.
    """
    settings = job.settings
    device = runtime.pick_device(settings.gpus)
    start = time.perf_counter()
    with runtime.seeded_run(job.seed, settings.cpus, device):
        runtime.reset_peak_memory(device)
        space = get_space(job.space)
        view = space.input_view(spec.config)
        model = space.build(spec.config, job.num_classes)
        set_dropout(model, settings.dropout)
        model = runtime.prepare_model(model, device)
        optimizer = build_sgd(model, settings.momentum, settings.nesterov, settings.weight_decay)
        schedule = schedule_for(settings)
        data = {"seed": job.seed, "fps": job.fps, "max_bad_share": job.max_bad_share}
        train_set = build_dataset(job.train, view, "train", **data)
        if len(train_set) < settings.batch_size:
            raise ValueError(
                f"{len(train_set)} training videos are fewer than one batch of "
                f"{settings.batch_size}"
            )
        final_views = settings.views
        val_sets = {
            views: build_dataset(job.val, view, "val", test_views=views, **data)
            for views in {CENTRE_VIEW, final_views}
        }
        device_name = runtime.describe(device)
        history: list[float] = []
        train_seconds, train_clips = 0.0, 0
        evaluation: Evaluation | None = None

        def outcome_fields() -> dict[str, Any]:
            return {
                "epochs": len(history),
                "epoch_top1": tuple(history),
                "wall_s": time.perf_counter() - start,
                "clips_per_s": train_clips / train_seconds if train_seconds else float("nan"),
                "peak_memory_mb": runtime.peak_memory_mb(device),
                "device": device_name,
            }

        for epoch in range(settings.epochs):
            train_set.set_epoch(epoch)
            loader = train_loader(
                train_set,
                settings.batch_size,
                settings.num_workers,
                job.seed,
                epoch,
                pin_memory=device.type == "cuda",
            )
            try:
                stats = train_one_epoch(
                    model, loader, optimizer, schedule, epoch, device, settings.micro_batch_size
                )
            except NonFiniteLoss as error:
                return TrialOutcome(status="failed", error=str(error), **outcome_fields())
            train_seconds += stats.seconds
            train_clips += stats.clips
            last = epoch == settings.epochs - 1
            evaluation = evaluate(
                model,
                val_sets[final_views if last else CENTRE_VIEW],
                device,
                settings.micro_batch_size or settings.batch_size,
                settings.num_workers,
            )
            history.append(evaluation.top1)
            if report is not None:
                metrics = {"epoch": epoch + 1, "top1": evaluation.top1, "top5": evaluation.top5}
                metrics |= {"loss": evaluation.loss, "train_loss": stats.loss, "lr": stats.lr}
                report(metrics | outcome_fields() | {"epoch_top1": list(history)})
        assert evaluation is not None  # settings guarantee at least one epoch
        return TrialOutcome(
            status="ok",
            top1=evaluation.top1,
            top5=evaluation.top5,
            loss=evaluation.loss,
            **outcome_fields(),
        )
