"""A search run's settings: the composed configuration (a plain mapping) as typed dataclasses.

Only the entry point knows Hydra; it hands `run_settings` the resolved mapping. Paths become
absolute here, before they can reach Ray workers that run in other directories.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import torch

from expansion.config_values import (
    absolute_path,
    as_bool,
    as_float,
    as_int,
    optional_float,
    optional_int,
)
from expansion.data import DataConfig
from expansion.data.config import data_identity
from expansion.errors import ConfigError
from expansion.results.architecture import find_preset
from expansion.results.run_table import space_name
from expansion.search.complexity import gflops_of
from expansion.search.coordinator import ContractFrom, Fidelity, SearchSettings
from expansion.search.dispatch import DISPATCHERS, DispatcherName
from expansion.training.resources import Resources, trial_settings
from expansion.training.trial import TrialJob
from expansion.training.trial_weights import WEIGHTS_DIR
from search_spaces import SearchSpace, get_space


@dataclass(frozen=True)
class RunSettings:
    """Everything one search needs: what to search, how to train, where to run and write."""

    search: SearchSettings
    job: TrialJob
    dispatcher: DispatcherName
    ray_address: str | None
    run_dir: Path
    machine_cpus: int | None  # what lone trials share out (None: a cluster's trials don't)
    retry_failed: bool  # a resume also retrains trials that diverged
    data_name: str  # what the trials train on, e.g. scales-v1 (recorded in final.yaml)
    reuse: tuple[Path, ...] = ()  # run folders whose trials this search takes (search/reuse.py)


def run_settings(config: Mapping[str, Any], run_dir: Path) -> RunSettings:
    """Typed settings from the composed configuration; bad values raise a one-line ConfigError."""
    data = DataConfig.from_mapping(config["data"])
    space = get_space(space_name(config.get("space")))
    search = SearchSettings(
        target_gflops=_targets(config, space, data.num_classes),
        axes=_names(config["axes"]),
        selection=config["selection"],
        contract=config["contract"],
        max_steps=as_int(config["max_steps"], "max_steps"),
        step_factor=optional_float(config.get("step_factor"), "step_factor"),
        num_classes=data.num_classes,
        min_target_fraction=as_float(config["min_target_fraction"], "min_target_fraction"),
        # runs recorded before the tolerance existed went on until a model passed the target
        target_tolerance=as_float(config.get("target_tolerance", 0.0), "target_tolerance"),
        # runs recorded before the margin existed kept the strict best
        selection_margin=as_float(config.get("selection_margin", 0.0), "selection_margin"),
        # runs recorded before the cost margin existed kept the cheapest of the tied, however
        # little cheaper
        selection_cost_margin=as_float(
            config.get("selection_cost_margin", 0.0), "selection_cost_margin"
        ),
        # runs recorded before inheritance existed trained every candidate from scratch
        # (a family that cannot transfer weights trains every candidate from scratch)
        inherit=as_bool(config.get("inherit", False), "inherit") and space.inherits_weights,
        contract_from=_choice(config.get("contract_from", "overshoot"), "contract_from"),
        # runs recorded before successive halving existed trained every candidate in full
        fidelity=_choice(config.get("fidelity", "full"), "fidelity"),
        rungs=tuple(as_float(share, "rungs") for share in config.get("rungs", (0.25, 1.0))),
        keep=as_float(config.get("keep", 1 / 3), "keep"),
        confirm_seeds=as_int(config.get("confirm_seeds", 0), "confirm_seeds"),
        confirm_margin=as_float(config.get("confirm_margin", 0.05), "confirm_margin"),
        # runs recorded before the cap existed confirmed every candidate within the margin
        confirm_top=optional_int(config.get("confirm_top"), "confirm_top"),
        # runs recorded before replay existed chose every step
        replay=_names(config.get("replay") or ()),
        replay_others=as_bool(config.get("replay_others", False), "replay_others"),
        # runs recorded before hardware targets existed had GFLOPs targets alone
        target_latency_ms=optional_float(config.get("target_latency_ms"), "target_latency_ms"),
        target_memory_mb=optional_float(config.get("target_memory_mb"), "target_memory_mb"),
    )
    schedule, resources = trial_settings(config["trial"])
    keeps_weights = search.inherit or search.fidelity == "halving"
    job = TrialJob(
        space=space,
        data=data,
        seed=as_int(config["seed"], "seed"),
        schedule=schedule,
        resources=resources,
        weights_dir=absolute_path(run_dir) / WEIGHTS_DIR if keeps_weights else None,
        inherit_noise=as_float(config.get("inherit_noise", 0.0), "inherit_noise"),
    )
    dispatcher = config["dispatcher"]["name"]
    if dispatcher not in DISPATCHERS:
        raise ConfigError(f"unknown dispatcher {dispatcher!r}: {' or '.join(DISPATCHERS)}")
    address = (config.get("ray") or {}).get("address")
    machine_cpus = config.get("machine_cpus")
    machine_cpus = None if machine_cpus is None else as_int(machine_cpus, "machine_cpus")
    _check_machine(job.resources, machine_cpus)
    retry_failed = bool(config.get("retry_failed", False))
    return RunSettings(
        search,
        job,
        dispatcher,
        address,
        absolute_path(run_dir),
        machine_cpus,
        retry_failed,
        data_identity(config["data"]),
        _reuse_folders(config.get("reuse")),
    )


def _reuse_folders(value: Any) -> tuple[Path, ...]:
    """`reuse=`: one run folder or a list of them, or none."""
    if value is None or value == "":
        return ()
    names = [value] if isinstance(value, str | Path) else list(value)
    return tuple(absolute_path(name) for name in names)


def _targets(config: Mapping[str, Any], space: SearchSpace, num_classes: int) -> tuple[float, ...]:
    """`target_gflops`: one target or a list of them, sorted (the search passes them in
    increasing order; a repeat is refused by `coordinator.validate`), or none beside a hardware
    target. A target is a number of GFLOPs or the name of one of the space's presets: its GFLOPs
    with this data's classifier, exactly, so that a path that builds the preset meets its target
    (X3D-XS costs 0.60526 GFLOPs with 400 classes, 0.60447 with 16)."""
    value = config.get("target_gflops")
    if value is None:
        if config.get("target_latency_ms") is None and config.get("target_memory_mb") is None:
            raise ConfigError(
                "target_gflops is required, e.g. target_gflops=6 (or a hardware target: "
                "target_latency_ms, target_memory_mb)"
            )
        return ()
    values = value if isinstance(value, list | tuple) else [value]
    return tuple(sorted(_target(target, space, num_classes) for target in values))


def _target(value: Any, space: SearchSpace, num_classes: int) -> float:
    preset = find_preset(space, value) if isinstance(value, str) else None
    if preset is not None:
        return gflops_of(space, preset, num_classes)
    try:
        return as_float(value, "target_gflops")
    except ConfigError:
        presets = ", ".join(space.presets)
        raise ConfigError(
            f"target_gflops: expected a number or a preset ({presets}), got {value!r}"
        ) from None


def _names(value: Any) -> tuple[str, ...]:
    """A list of axis names; one name alone (`axes=spatial`) is a list of one, not its letters."""
    return (value,) if isinstance(value, str) else tuple(str(name) for name in value)


_CHOICES = {"contract_from": get_args(ContractFrom), "fidelity": get_args(Fidelity)}


def _choice(value: Any, name: str) -> Any:
    """One of the values setting `name` allows, else a one-line `ConfigError`."""
    if value not in _CHOICES[name]:
        raise ConfigError(f"{name}: expected {' or '.join(_CHOICES[name])}, got {value!r}")
    return value


def this_machine_cpus() -> int:
    """The CPUs of this machine, as a new local search records them."""
    return os.cpu_count() or 1


def _check_machine(resources: Resources, machine_cpus: int | None) -> None:
    """A one-line `ConfigError` for trials this machine can never run (Ray would wait forever);
    a cluster's nodes are checked when it is joined."""
    if machine_cpus is not None and resources.cpus > machine_cpus:
        raise ConfigError(f"trial.cpus={resources.cpus} but this machine has {machine_cpus} CPUs")
    if machine_cpus is not None and resources.gpus > max(torch.cuda.device_count(), 0):
        raise ConfigError(
            f"trial.gpus={resources.gpus:g} but this machine has {torch.cuda.device_count()} GPUs"
        )
