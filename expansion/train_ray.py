"""Data-parallel training on Ray Train workers: the only module of `train` that imports ray.

Each of N `TorchTrainer` workers runs `expansion.training.fit.train_worker` with its rank on its
1/N of every global batch, the model wrapped in DistributedDataParallel (gloo on the CPU, NCCL
on GPUs). Worker 0 writes checkpoints and metrics into the run folder itself, which therefore
must be storage every worker's node sees; a worker group that Ray restarts after a failure
(`max_failures` of the recipe) continues from the last of them. A local Ray instance is started
unless `address` names a cluster, and shut down at the end.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from expansion.training.fit import TrainPlan, train_worker

# Set before ray is imported: no auth token file in the home folder; workers' prints reach the
# console once (Ray Train's print patch would add a logged copy); no cloud preemption watcher.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")

import ray
import ray.train
import ray.train.torch

RAY_FOLDER = "ray"


def _worker(config: dict[str, Any]) -> None:
    # DDP compares the strides of channels_last weights of 1×1×1 convs with its contiguous
    # buckets; they differ only on size-1 dimensions, where the layout is the same.
    warnings.filterwarnings("ignore", "Grad strides do not match bucket view strides")
    context = ray.train.get_context()

    def data_parallel(model: Any) -> Any:
        return ray.train.torch.prepare_model(model, move_to_device=False)

    train_worker(
        config["plan"],
        ray.train.torch.get_device(),
        context.get_world_rank(),
        context.get_world_size(),
        data_parallel,
    )


def train_with_ray(
    plan: TrainPlan, workers: int, use_gpu: bool, address: str | None = None
) -> None:
    """Train `plan` on `workers` Ray Train workers (one GPU each with `use_gpu`)."""
    schedule = plan.settings.schedule
    resources = {"CPU": schedule.cpus} | ({"GPU": 1} if use_gpu else {})
    ray.init(
        address=address,
        include_dashboard=False,
        logging_level="ERROR",
        # Ray's own actors warn that the state API is missing without the dashboard.
        logging_config=ray.LoggingConfig(log_level="ERROR"),
    )
    try:
        trainer = ray.train.torch.TorchTrainer(
            _worker,
            train_loop_config={"plan": plan},
            scaling_config=ray.train.ScalingConfig(
                num_workers=workers, use_gpu=use_gpu, resources_per_worker=resources
            ),
            run_config=ray.train.RunConfig(
                name="train",
                storage_path=str(plan.out_dir / RAY_FOLDER),
                failure_config=ray.train.FailureConfig(max_failures=schedule.max_failures),
            ),
        )
        trainer.fit()
    finally:
        ray.shutdown()
