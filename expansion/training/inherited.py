"""Trial weights in a run folder: what each trial leaves for the candidates that inherit from it
(`inherit=true`), written atomically so that a resumed search finds them whole."""

from __future__ import annotations

import zlib
from pathlib import Path

import torch
from torch import nn

from expansion.results.atomic import write_atomically
from expansion.search.records import TrialSpec
from search_spaces.base import SearchSpace

WEIGHTS_DIR = "weights"  # in the run folder: <trial_id>.pt, the config and the state dict


def weights_path(folder: Path, trial_id: str) -> Path:
    return folder / f"{trial_id}.pt"


def save_trial_weights(folder: Path, spec: TrialSpec, space: SearchSpace, model: nn.Module) -> None:
    """The trained `model` of `spec` and its configuration, as `folder/<trial_id>.pt`."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()}
    document = {"config": space.to_dict(spec.config), "state": state}
    write_atomically(weights_path(folder, spec.trial_id), lambda path: torch.save(document, path))


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
    path = weights_path(folder, spec.inherit_from)
    if not path.exists():
        raise FileNotFoundError(f"{spec.trial_id} inherits from {spec.inherit_from}: no {path}")
    document = torch.load(path, map_location="cpu", weights_only=True)
    parent = space.from_dict(document["config"])
    draw = zlib.crc32(f"{seed}/{spec.trial_id}".encode())
    state = space.transfer_weights(
        parent, document["state"], spec.config, num_classes, noise=noise, seed=draw
    )
    if state is None:
        raise ValueError(f"the {space.name} space cannot inherit weights")
    return state
