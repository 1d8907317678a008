"""`python -m expansion.train arch=XS out_dir=DIR [workers=N] [resume=DIR]`: full training.

Trains a preset or a `final.yaml` with a recipe of `conf/recipe/` (the paper's by default), on
one device in this process (`workers=1`, no Ray) or data-parallel on N Ray Train workers, and
writes checkpoints, metrics and the final model into `out_dir` (see `expansion.training.fit`).
`resume=DIR` continues a killed run with the settings it was started with; only where it runs
(`workers`, `use_gpu`, `ray`) may change. `train` is what tests call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import hydra
import yaml
from omegaconf import DictConfig

from expansion.architecture import resolve_architecture
from expansion.cli import call_with_config
from expansion.settings import data_sources
from expansion.training import runtime
from expansion.training.fit import (
    FINAL_METRICS,
    TrainPlan,
    check_plan,
    train_worker,
)
from expansion.training.settings import TrainSettings
from search_spaces.x3d import X3D_SPACE

SETTINGS_FILE = "train.yaml"
# On resume these may change; everything else defines the run.
RESUMABLE_OVERRIDES = ("workers", "use_gpu", "ray")


def _absolute(path: Any) -> Path:
    return Path(str(path)).expanduser().resolve()


def training_plan(config: Mapping[str, Any], out_dir: Path) -> TrainPlan:
    """The typed plan of a run from the composed configuration; bad values: one-line errors."""
    if not config.get("arch"):
        raise ValueError("arch= is required: a preset (XS, S, M, L, XL) or a final.yaml")
    space, architecture = resolve_architecture(str(config["arch"]))
    if space.name != X3D_SPACE.name:
        raise ValueError(f"arch={config['arch']}: only X3D architectures can be trained")
    data = config["data"]
    train, val, num_classes = data_sources(data)
    recipe = dict(config["recipe"]) | {"gpus": 1.0 if config["use_gpu"] else 0.0}
    checkpoint = config.get("checkpoint")
    return TrainPlan(
        config=architecture,
        train=train,
        val=val,
        num_classes=num_classes,
        settings=TrainSettings.from_mapping(recipe),
        seed=int(config["seed"]),
        out_dir=out_dir,
        init_checkpoint=_absolute(checkpoint) if checkpoint else None,
        fps=data.get("fps"),
        max_bad_share=float(data.get("max_bad_share", 0.05)),
    )


def train(config: Mapping[str, Any], stream: TextIO = sys.stderr) -> dict[str, Any]:
    """Start a run in `config["out_dir"]`, or continue `config["resume"]`; the final metrics."""
    resume = config.get("resume")
    if not (resume or config.get("out_dir")):
        raise ValueError("out_dir=DIR is required (or resume=DIR to continue a run)")
    out_dir = _absolute(resume or config["out_dir"])
    saved = out_dir / SETTINGS_FILE
    if resume:
        if not saved.is_file():
            raise ValueError(f"cannot resume {out_dir}: no {SETTINGS_FILE} (not a training run)")
        original = yaml.safe_load(saved.read_text())
        config = original | {key: config[key] for key in RESUMABLE_OVERRIDES if key in config}
    elif saved.exists():
        raise ValueError(
            f"{out_dir} already holds a training run; continue it with resume={out_dir}"
        )
    plan = training_plan(config, out_dir)
    workers = int(config["workers"])
    check_plan(plan, workers)
    if not resume:
        out_dir.mkdir(parents=True, exist_ok=True)
        saved.write_text(yaml.safe_dump({**config, "resume": None}, sort_keys=False))
    final = out_dir / FINAL_METRICS
    if final.exists():
        print(f"{out_dir} has finished training; its final metrics are in {final}", file=stream)
        return json.loads(final.read_text())
    if workers == 1:
        device = runtime.pick_device(plan.settings.schedule.gpus)
        metrics = train_worker(plan, device, stream=stream)
        assert metrics is not None  # worker 0 returns them
        return metrics
    from expansion.train_ray import train_with_ray  # ray is imported only for several workers

    train_with_ray(plan, workers, bool(config["use_gpu"]), config.get("ray", {}).get("address"))
    return json.loads(final.read_text())


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(config: DictConfig) -> None:
    call_with_config("expansion.train", config, train)


if __name__ == "__main__":
    main()
