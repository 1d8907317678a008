"""One search trial: train a candidate on its own input view with a short schedule, measure it.

Exceptions (bad data, out of memory) propagate so the dispatcher can record or retry them; a
loss that becomes NaN is a result, not an error (the same seed would give it again), and comes
back as a failed outcome.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn
from torch.optim import Optimizer

from expansion.data import DataConfig
from expansion.data.errors import UnreadableVideoWarning
from expansion.data.sampling import SINGLE_VIEW, TestViews
from expansion.errors import ConfigError
from expansion.results.evidence import bootstrap_interval
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training import runtime
from expansion.training.latency import measure_speed
from expansion.training.loaders import train_loader
from expansion.training.loop import Evaluation, NonFiniteLoss, evaluate, train_one_epoch
from expansion.training.optim import build_sgd
from expansion.training.resources import Resources
from expansion.training.schedule import Schedule
from expansion.training.trial_weights import inherited_state, load_checkpoint, save_checkpoint
from search_spaces.base import SearchSpace

Report = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrialJob:
    """Everything besides the candidate that a worker needs to train it; frozen and picklable.

    The space travels as an object, so a family registered only in the driver still trains on
    workers. Data paths are absolute (workers run in other folders); `resources.cpus` are the
    trial's torch threads. With a `weights_dir`, every trial saves its trained weights there and
    a candidate that inherits starts from its parent's (`inherit_noise`: see `transfer_weights`).
    """

    space: SearchSpace
    data: DataConfig
    seed: int
    schedule: Schedule
    resources: Resources
    weights_dir: Path | None = None
    inherit_noise: float = 0.0


def run_trial(spec: TrialSpec, job: TrialJob, report: Report | None = None) -> TrialOutcome:
    """Train `spec.config` with `job.schedule` and return its outcome, with the trained model's
    speed on the trial's device and threads (`latency_ms`, `throughput_clips_s`).

    After every validated epoch (every epoch, or only the last: `validate_every_epoch`) `report`
    receives `epoch` (from 1), validation `top1`, `top5` and `loss` (centre view; after the last
    epoch, the final `test_views`), `train_loss`, `lr`, and the outcome fields so far (`epochs`
    trained, `epoch_top1` of the validated epochs, `wall_s`, `clips_per_s`, `peak_memory_mb`,
    `device`, `threads`, `gpus`, `bad_videos`).
    """
    device = runtime.pick_device(job.resources.gpus)
    runtime.limit_to_gpu_share(device, job.resources.gpus)
    settings, threads = job.schedule.for_device(device.type), job.resources.cpus
    if spec.inherit_from:
        settings = settings.for_inheriting()
    start, cpu_start = time.perf_counter(), time.process_time()
    # Unreadable videos come back in the outcome (`bad_videos`), so no warning repeats them.
    seed = job.seed + spec.seed_offset  # a confirmation trains the candidate with other seeds
    with runtime.seeded_run(seed, threads, device), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableVideoWarning)
        runtime.reset_peak_memory(device)
        view = job.space.input_view(spec.config)
        model = job.space.build(spec.config, job.data.num_classes, settings.dropout)
        model = runtime.prepare_model(model, device)
        optimizer = build_sgd(model, settings.momentum, settings.nesterov, settings.weight_decay)
        first_epoch = _start(spec, job, model, optimizer)
        # a rung trains part of the epochs; its next one what is left (nothing, when the rung's
        # share rounded up to all of them: it is only evaluated)
        end_epoch = max(settings.rung_epochs(spec.budget), first_epoch)
        schedule = settings.learning_rate()
        train_set = job.data.dataset("train", view, "train", seed=seed)
        if len(train_set) < settings.batch_size:
            raise ConfigError(
                f"{len(train_set)} training videos are fewer than one batch of "
                f"{settings.batch_size}"
            )
        final_views = settings.views
        val_sets = {
            views: job.data.dataset("val", view, "val", test_views=views, seed=seed)
            for views in {SINGLE_VIEW, final_views}
        }
        datasets = [train_set, *val_sets.values()]
        device_name = runtime.device_name(device)
        history: list[float] = []
        trained, train_seconds, train_clips = first_epoch, 0.0, 0

        def outcome_fields() -> dict[str, Any]:
            return {
                "epochs": trained,
                "epoch_top1": tuple(history),
                "wall_s": time.perf_counter() - start,
                "cpu_s": time.process_time() - cpu_start,
                "clips_per_s": train_clips / train_seconds if train_seconds else float("nan"),
                "peak_memory_mb": runtime.peak_memory_mb(device),
                "device": device_name,
                "threads": threads,
                "gpus": job.resources.gpus,
                "bad_videos": tuple(
                    sorted({name for data in datasets for name in data.failures()})
                ),
            }

        train_loss, lr = float("nan"), float("nan")  # none if a rung left nothing to train

        def validate(epoch: int, views: TestViews) -> Evaluation:
            evaluation = evaluate(
                model, val_sets[views], device, settings.forward_batch, settings.num_workers
            )
            history.append(evaluation.top1)
            if report is not None:
                metrics = {"epoch": epoch + 1, "top1": evaluation.top1, "top5": evaluation.top5}
                metrics |= {"loss": evaluation.loss, "train_loss": train_loss, "lr": lr}
                report(metrics | outcome_fields() | {"epoch_top1": list(history)})
            return evaluation

        for epoch in range(first_epoch, end_epoch):
            train_set.set_epoch(epoch)
            loader = train_loader(
                train_set,
                settings.batch_size,
                settings.num_workers,
                seed,
                epoch,
                pin_memory=device.type == "cuda",
            )
            try:
                stats = train_one_epoch(
                    model, loader, optimizer, schedule, epoch, device, settings.micro_batch_size
                )
            except NonFiniteLoss as error:
                fields = outcome_fields()
                return TrialOutcome("failed", error=str(error), failure="diverged", **fields)
            trained += 1
            train_seconds += stats.seconds
            train_clips += stats.clips
            train_loss, lr = stats.loss, stats.lr
            if epoch < end_epoch - 1 and settings.validate_every_epoch:
                validate(epoch, SINGLE_VIEW)
        evaluation = validate(end_epoch - 1, final_views)
        if job.weights_dir is not None:
            save_checkpoint(job.weights_dir, spec, job.space, model, optimizer, end_epoch)
        speed = measure_speed(model, view, settings.forward_batch, device)
        hits = (evaluation.scores.argmax(dim=1) == evaluation.labels).numpy()
        low, high = bootstrap_interval(hits.astype(float))
        return TrialOutcome(
            status="ok",
            top1=evaluation.top1,
            top5=evaluation.top5,
            loss=evaluation.loss,
            top1_low=low,
            top1_high=high,
            correct="".join("1" if hit else "0" for hit in hits),
            latency_ms=speed.latency_ms,
            throughput_clips_s=speed.throughput_clips_s,
            **outcome_fields(),
        )


def _start(spec: TrialSpec, job: TrialJob, model: nn.Module, optimizer: Optimizer) -> int:
    """Load what `spec` starts from, its previous rung's checkpoint or its parent's weights
    (nothing: from scratch), and return the first epoch to train."""
    if not (spec.resume_from or spec.inherit_from):
        return 0
    if job.weights_dir is None:
        raise ValueError(f"{spec.trial_id} starts from another trial's weights: none are kept")
    if spec.resume_from:
        checkpoint = load_checkpoint(job.weights_dir, spec.resume_from, spec.trial_id)
        model.load_state_dict(checkpoint.state)
        optimizer.load_state_dict(checkpoint.optimizer)
        return checkpoint.epochs
    noise, classes = job.inherit_noise, job.data.num_classes
    model.load_state_dict(
        inherited_state(job.weights_dir, spec, job.space, classes, noise, job.seed)
    )
    return 0
