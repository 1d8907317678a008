"""Data-parallel training on Ray Train workers: the only module of training that uses Ray Train.

Each of N `TorchTrainer` workers runs `expansion.training.fit.train_worker` with its rank on its
1/N of every global batch, the model wrapped in DistributedDataParallel (gloo on the CPU, NCCL
on GPUs). Worker 0 writes checkpoints and metrics into the run folder itself, which therefore
must be storage every worker's node sees; a worker group that Ray restarts after a failure
(`max_failures` of the recipe) continues from the last of them. Ray is started or joined by
`ray_session` for the run.
"""

from __future__ import annotations

import warnings
from typing import Any

from expansion.training.fit import TrainPlan, train_worker
from expansion.training.ray_session import ray_session

import ray.train  # isort: skip  (after ray_session has set Ray's switches)
import ray.train.torch  # isort: skip

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
    resources = plan.recipe.resources
    per_worker = {"CPU": resources.cpus} | ({"GPU": 1} if use_gpu else {})
    with ray_session(address, log_to_driver=True):
        trainer = ray.train.torch.TorchTrainer(
            _worker,
            train_loop_config={"plan": plan},
            scaling_config=ray.train.ScalingConfig(
                num_workers=workers, use_gpu=use_gpu, resources_per_worker=per_worker
            ),
            run_config=ray.train.RunConfig(
                name="train",
                storage_path=str(plan.out_dir / RAY_FOLDER),
                failure_config=ray.train.FailureConfig(max_failures=resources.max_failures),
            ),
        )
        trainer.fit()
