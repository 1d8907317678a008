"""A search run's settings: the composed configuration (a plain mapping) as typed dataclasses.

Only the entry point knows Hydra; it hands `run_settings` the resolved mapping. Paths become
absolute here, before they can reach Ray workers that run in other directories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from expansion.coordinator import SearchSettings
from expansion.data import FolderSource, ListFileSource, SyntheticSpec
from expansion.data.build import DataSource, collection
from expansion.training.settings import TrialJob, TrialSettings

DispatcherName = Literal["ray", "inline"]


@dataclass(frozen=True)
class RunSettings:
    """Everything one search needs: what to search, how to train, where to run and write."""

    search: SearchSettings
    job: TrialJob
    dispatcher: DispatcherName
    ray_address: str | None
    run_dir: Path


def _required(section: Mapping[str, Any], key: str, where: str) -> Any:
    value = section.get(key)
    if value is None or value == "???":
        raise ValueError(f"{where}.{key} is required")
    return value


def _absolute(path: Any) -> Path:
    return Path(str(path)).expanduser().resolve()


def data_sources(data: Mapping[str, Any]) -> tuple[DataSource, DataSource, int]:
    """Training and validation sources and the class count, from the `data` config group."""
    kind = data.get("name")
    if kind == "synthetic":
        geometry = {key: data[key] for key in ("height", "width", "num_frames") if key in data}
        train = SyntheticSpec(data["seed"], "train", data["num_train"], **geometry)
        val = SyntheticSpec(data["seed"], "val", data["num_val"], **geometry)
        return train, val, collection(train).num_classes
    if kind == "kinetics":
        root = _absolute(_required(data, "root", "data"))
        classes = int(_required(data, "num_classes", "data"))
        lists = [_absolute(_required(data, key, "data")) for key in ("train_list", "val_list")]
        train, val = (ListFileSource(path, root, classes) for path in lists)
        return train, val, classes
    if kind == "folder":
        train = FolderSource(_absolute(_required(data, "train_root", "data")))
        val = FolderSource(_absolute(_required(data, "val_root", "data")))
        return train, val, collection(train).num_classes
    raise ValueError(f"unknown data source {kind!r}: synthetic, kinetics or folder")


def run_settings(config: Mapping[str, Any], run_dir: Path) -> RunSettings:
    """Typed settings from the composed configuration; bad values raise a one-line ValueError."""
    train, val, num_classes = data_sources(config["data"])
    target = config.get("target_gflops")
    if target is None:
        raise ValueError("target_gflops is required, e.g. target_gflops=6")
    step_factor = config.get("step_factor")
    search = SearchSettings(
        target_gflops=float(target),
        axes=tuple(config["axes"]),
        selection=config["selection"],
        contract=config["contract"],
        max_steps=int(config["max_steps"]),
        step_factor=None if step_factor is None else float(step_factor),
        num_classes=num_classes,
        min_target_fraction=float(config["min_target_fraction"]),
        # runs recorded before the margin existed kept the strict best
        selection_margin=float(config.get("selection_margin", 0.0)),
    )
    job = TrialJob(
        space=config["space"]["name"],
        train=train,
        val=val,
        num_classes=num_classes,
        seed=int(config["seed"]),
        settings=TrialSettings.from_mapping(config["trial"]),
        fps=config["data"].get("fps"),
        max_bad_share=float(config["data"].get("max_bad_share", 0.05)),
    )
    dispatcher = config["dispatcher"]["name"]
    if dispatcher not in ("ray", "inline"):
        raise ValueError(f"unknown dispatcher {dispatcher!r}: ray or inline")
    address = config.get("ray", {}).get("address")
    return RunSettings(search, job, dispatcher, address, _absolute(run_dir))
