"""`python -m expansion.train arch=XS out_dir=DIR [workers=N] [resume=DIR]`: full training.

Trains a preset or a `final.yaml` (or, from `checkpoint=` weights with `arch` left out or `auto`,
the checkpoint's own architecture) with a recipe of `conf/recipe/` (the paper's by default), on
one device in this process (`workers=1`, no Ray) or data-parallel on N Ray Train workers, and
writes checkpoints, metrics and the final model into `out_dir` (see `expansion.training.fit`).
`resume=DIR` continues a killed run with the settings it was started with; only where it runs
(`workers`, `use_gpu`, `ray`) may change. `train` is what tests call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from expansion.cli import hydra_command
from expansion.config_values import absolute_path, as_int
from expansion.data import DataConfig
from expansion.errors import ConfigError
from expansion.results.architecture import AUTO_ARCH, resolve_architecture
from expansion.results.checkpoints import checkpoint_architecture
from expansion.results.environment import record_environment
from expansion.results.run_folder import RunLock, open_run_folder
from expansion.results.run_table import space_name
from expansion.training import runtime
from expansion.training.fit import FINAL_METRICS, TrainPlan, check_plan, train_worker
from expansion.training.recipe import Recipe
from search_spaces import get_space

SETTINGS_FILE = "train.yaml"
# On resume these may change; everything else defines the run.
RESUMABLE_OVERRIDES = ("workers", "use_gpu", "ray")


def training_plan(config: Mapping[str, Any], out_dir: Path) -> TrainPlan:
    """The typed plan of a run from the composed configuration; bad values: one-line errors."""
    space = get_space(space_name(config.get("space")))
    checkpoint = absolute_path(config["checkpoint"]) if config.get("checkpoint") else None
    arch = str(config.get("arch") or AUTO_ARCH)
    if arch != AUTO_ARCH:
        space, architecture = resolve_architecture(arch, space)
    elif checkpoint is not None:
        architecture = checkpoint_architecture(checkpoint, space)
    else:
        known = ", ".join(space.presets)
        raise ConfigError(
            f"arch= is required without checkpoint=: a preset ({known}) or a final.yaml"
        )
    recipe = dict(config["recipe"]) | {"gpus": 1.0 if config["use_gpu"] else 0.0}
    return TrainPlan(
        space=space,
        config=architecture,
        data=DataConfig.from_mapping(config["data"]),
        recipe=Recipe.from_mapping(recipe),
        seed=as_int(config["seed"], "seed"),
        out_dir=out_dir,
        init_checkpoint=checkpoint,
    )


def train(
    config: Mapping[str, Any], stream: TextIO = sys.stderr, overrides: Sequence[str] | None = None
) -> dict[str, Any]:
    """Start a run in `config["out_dir"]`, or continue `config["resume"]`; the final metrics.

    `overrides` are the top-level settings the command line gave; a resume names those it
    ignores (None: the resumable ones present in `config` apply).
    """
    folder = open_run_folder(
        config,
        folder_key="out_dir",
        settings_file=SETTINGS_FILE,
        what="training",
        resumable=RESUMABLE_OVERRIDES,
        overrides=overrides,
    )
    config = folder.config
    plan = training_plan(config, folder.path)
    workers = as_int(config["workers"], "workers")
    check_plan(plan, workers)
    if folder.ignored:
        print(
            f"resume: ignored {', '.join(folder.ignored)} (a run keeps its settings)", file=stream
        )
    with RunLock(folder.path):
        folder.save_settings()
        if (notice := record_environment(folder.path)) is not None:
            print(notice, file=stream)
        return _train(plan, config, workers, stream)


def _train(
    plan: TrainPlan, config: Mapping[str, Any], workers: int, stream: TextIO
) -> dict[str, Any]:
    final = plan.out_dir / FINAL_METRICS
    if final.exists():
        print(
            f"{plan.out_dir} has finished training; its final metrics are in {final}", file=stream
        )
        return json.loads(final.read_text())
    if workers == 1:
        device = runtime.pick_device(plan.recipe.resources.gpus)
        metrics = train_worker(plan, device, stream=stream)
        assert metrics is not None  # worker 0 returns them
        return metrics
    from expansion.training.distributed import train_with_ray  # imports ray

    address = (config.get("ray") or {}).get("address")
    train_with_ray(plan, workers, bool(config["use_gpu"]), address)
    return json.loads(final.read_text())


main = hydra_command("expansion.train", "train", lambda settings, _: train(settings))

if __name__ == "__main__":
    main()
