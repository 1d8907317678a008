"""Trial weights in a run folder: what a trial leaves for the candidates that inherit from it
(`inherit=true`) and for its own next rung (`fidelity=halving`), written atomically so that a
resumed search finds them whole."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from expansion.results.atomic import write_atomically
from expansion.search.records import TrialSpec
from search_spaces.base import SearchSpace

WEIGHTS_DIR = "weights"  # in the run folder: <trial_id>.pt


@dataclass(frozen=True)
class Checkpoint:
    """A trained trial: its configuration, weights, optimizer state and epochs trained."""

    config: Mapping[str, Any]
    state: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    epochs: int


def weights_path(folder: Path, trial_id: str) -> Path:
    return folder / f"{trial_id}.pt"


def save_checkpoint(
    folder: Path,
    spec: TrialSpec,
    space: SearchSpace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
) -> None:
    """`spec`'s trained model, optimizer and epochs as `folder/<trial_id>.pt`."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()}
    document = {
        "config": space.to_dict(spec.config),
        "state": state,
        "optimizer": optimizer.state_dict(),
        "epochs": epochs,
    }
    write_atomically(weights_path(folder, spec.trial_id), lambda path: torch.save(document, path))


def load_checkpoint(folder: Path, trial_id: str, needed_by: str) -> Checkpoint:
    path = weights_path(folder, trial_id)
    if not path.exists():
        raise FileNotFoundError(f"{needed_by} starts from {trial_id}'s weights: no {path}")
    document = torch.load(path, map_location="cpu", weights_only=True)
    return Checkpoint(
        document["config"], document["state"], document["optimizer"], document["epochs"]
    )


def keep_only(folder: Path, trial_ids: set[str]) -> None:
    """Delete the weights of every trial but `trial_ids` (a finished search keeps its path's)."""
    for path in folder.glob("*.pt"):
        if path.stem not in trial_ids:
            path.unlink()


def inherited_state(
    folder: Path,
    spec: TrialSpec,
    space: SearchSpace,
    num_classes: int,
    noise: float,
    seed: int,
) -> dict[str, torch.Tensor]:
    """`spec.config`'s starting weights from those `spec.inherit_from` left in `folder`.

    The copies (and the noise) drawn for widening depend on the trial seed and the trial, so a
    retrained trial starts from the same weights.
    """
    parent = load_checkpoint(folder, spec.inherit_from, spec.trial_id)
    draw = zlib.crc32(f"{seed}/{spec.trial_id}".encode())
    config = space.from_dict(parent.config)
    state = space.transfer_weights(
        config, parent.state, spec.config, num_classes, noise=noise, seed=draw
    )
    if state is None:
        raise ValueError(f"the {space.name} space cannot inherit weights")
    return state
