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

from expansion.data import DataConfig
from expansion.data.errors import UnreadableVideoWarning
from expansion.data.sampling import SINGLE_VIEW
from expansion.errors import ConfigError
from expansion.results.evidence import bootstrap_interval
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training import runtime
from expansion.training.inherited import inherited_state, save_trial_weights
from expansion.training.latency import measure_speed
from expansion.training.loaders import train_loader
from expansion.training.loop import Evaluation, NonFiniteLoss, evaluate, train_one_epoch
from expansion.training.optim import build_sgd
from expansion.training.resources import Resources
from expansion.training.schedule import Schedule
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
    settings, threads = job.schedule.for_device(device.type), job.resources.cpus
    if spec.inherit_from:
        settings = settings.for_inheriting()
    start = time.perf_counter()
    # Unreadable videos come back in the outcome (`bad_videos`), so no warning repeats them.
    with runtime.seeded_run(job.seed, threads, device), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableVideoWarning)
        runtime.reset_peak_memory(device)
        view = job.space.input_view(spec.config)
        model = job.space.build(spec.config, job.data.num_classes, settings.dropout)
        if spec.inherit_from:
            if job.weights_dir is None:
                raise ValueError(f"{spec.trial_id} inherits weights, but the job keeps none")
            model.load_state_dict(
                inherited_state(
                    job.weights_dir,
                    spec,
                    job.space,
                    job.data.num_classes,
                    job.inherit_noise,
                    job.seed,
                )
            )
        model = runtime.prepare_model(model, device)
        optimizer = build_sgd(model, settings.momentum, settings.nesterov, settings.weight_decay)
        schedule = settings.learning_rate()
        train_set = job.data.dataset("train", view, "train", seed=job.seed)
        if len(train_set) < settings.batch_size:
            raise ConfigError(
                f"{len(train_set)} training videos are fewer than one batch of "
                f"{settings.batch_size}"
            )
        final_views = settings.views
        val_sets = {
            views: job.data.dataset("val", view, "val", test_views=views, seed=job.seed)
            for views in {SINGLE_VIEW, final_views}
        }
        datasets = [train_set, *val_sets.values()]
        device_name = runtime.device_name(device)
        history: list[float] = []
        trained, train_seconds, train_clips = 0, 0.0, 0
        evaluation: Evaluation | None = None

        def outcome_fields() -> dict[str, Any]:
            return {
                "epochs": trained,
                "epoch_top1": tuple(history),
                "wall_s": time.perf_counter() - start,
                "clips_per_s": train_clips / train_seconds if train_seconds else float("nan"),
                "peak_memory_mb": runtime.peak_memory_mb(device),
                "device": device_name,
                "threads": threads,
                "gpus": job.resources.gpus,
                "bad_videos": tuple(
                    sorted({name for data in datasets for name in data.failures()})
                ),
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
                fields = outcome_fields()
                return TrialOutcome("failed", error=str(error), failure="diverged", **fields)
            trained += 1
            train_seconds += stats.seconds
            train_clips += stats.clips
            last = epoch == settings.epochs - 1
            if not (last or settings.validate_every_epoch):
                continue
            evaluation = evaluate(
                model,
                val_sets[final_views if last else SINGLE_VIEW],
                device,
                settings.forward_batch,
                settings.num_workers,
            )
            history.append(evaluation.top1)
            if report is not None:
                metrics = {"epoch": epoch + 1, "top1": evaluation.top1, "top5": evaluation.top5}
                metrics |= {"loss": evaluation.loss, "train_loss": stats.loss, "lr": stats.lr}
                report(metrics | outcome_fields() | {"epoch_top1": list(history)})
        assert evaluation is not None  # settings guarantee at least one epoch
        if job.weights_dir is not None:
            save_trial_weights(job.weights_dir, spec, job.space, model)
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
