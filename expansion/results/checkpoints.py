"""Model checkpoints of any search space: the project's own format, and the formats of other
codebases that a family names (X3D: pytorchvideo's, SlowFast's and mmaction2's), read strictly.

The project's format is one `torch.save` file holding a dict `{"format": "expansion-<space>",
"version": 1, "config": <the space's to_dict>, "model_state": <our state dict>, "extra": <anything
the writer adds: optimizer state, epoch, …>}`. Other codebases' files are dicts holding the state
dict under `model_state` (SlowFast, pytorchvideo) or `state_dict` (mmaction2, mmengine), or a
bare state dict, possibly with DataParallel's `module.` prefix; its keys follow one of the
family's `checkpoint_schemes`. Without a configuration from the caller, the project's files give
their own and the family reads other files' from their tensor shapes and stored settings
(`architecture_from_checkpoint`). Every checkpoint tensor must land in the model and every model
tensor must come from the file; anything else is a `CheckpointError` with a one-line account of
what does not match.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from expansion.errors import CheckpointError, UserError
from expansion.results.atomic import write_atomically
from search_spaces.base import CheckpointScheme, SearchSpace

FORMAT_PREFIX = "expansion-"
FORMAT_VERSION = 1
OWN_SOURCE = "expansion"
# Offending keys named in an error message, per kind of problem.
SHOWN_KEYS = 3
# Where other codebases' files keep the state dict (else the file is one).
STATE_KEYS = ("model_state", "state_dict")


@dataclass(frozen=True)
class OwnNames:
    """The project's own tensor names: every key is itself."""

    name: str = OWN_SOURCE
    identity_bns: tuple[str, ...] = ()

    def rename(self, key: str) -> str:
        return key

    def names(self, keys: Iterable[str]) -> dict[str, str]:
        return {key: key for key in keys}

    def to_ours(self, key: str, value: torch.Tensor) -> torch.Tensor:
        return value


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A model filled from a checkpoint; `extra` is what `save_checkpoint` stored beside it."""

    model: nn.Module
    config: Any
    source: str
    extra: dict[str, Any] = field(default_factory=dict)


def checkpoint_format(space: SearchSpace) -> str:
    """The `format` field of `space`'s own checkpoints (`expansion-x3d`)."""
    return f"{FORMAT_PREFIX}{space.name}"


def save_checkpoint(
    path: str | Path,
    space: SearchSpace,
    model: nn.Module,
    config: Any,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write `model` (unwrapped from (Distributed)DataParallel) of `space` in the project's format.

    `extra` must hold only tensors and plain containers, numbers and strings: files are read
    back with `torch.load(weights_only=True)`. The file is replaced atomically, so a run killed
    while saving leaves the previous checkpoint intact.
    """
    if isinstance(model, DataParallel | DistributedDataParallel):
        model = model.module
    document = {
        "format": checkpoint_format(space),
        "version": FORMAT_VERSION,
        "config": space.to_dict(config),
        "model_state": model.state_dict(),
        "extra": dict(extra or {}),
    }
    write_atomically(Path(path), lambda partial: torch.save(document, partial))


@dataclass(frozen=True)
class _Contents:
    """A checkpoint file's dict, its state dict and naming scheme, and what the project stores."""

    document: dict[str, Any]
    state: dict[str, torch.Tensor]
    scheme: CheckpointScheme
    config: Any | None
    extra: dict[str, Any]


def load_checkpoint(
    path: str | Path,
    space: SearchSpace,
    config: Any | None = None,
    num_classes: int | None = None,
    dropout: float = 0.0,
) -> LoadedCheckpoint:
    """Read a checkpoint of any format `space` knows into a new network of it, strictly.

    The class count comes from the classifier weight; `num_classes`, when given, must equal it.
    `config` left out is the checkpoint's own (`checkpoint_architecture`); given, it takes
    precedence (the weights must still fit it exactly).
    """
    contents = _contents(path, space)
    if config is None:
        config = _architecture(contents, space, path)
    classes = _class_count(contents.state, space, contents.scheme, path, num_classes)
    model = space.build(config, classes, dropout)
    model.load_state_dict(
        _matched_state(contents.state, model, space, config, contents.scheme, path)
    )
    return LoadedCheckpoint(model, config, contents.scheme.name, contents.extra)


def checkpoint_architecture(path: str | Path, space: SearchSpace) -> Any:
    """The configuration a checkpoint holds: the one the project's files store, else what the
    family reads from the tensor shapes and stored settings; a `CheckpointError` if neither."""
    return _architecture(_contents(path, space), space, path)


def _contents(path: str | Path, space: SearchSpace) -> _Contents:
    document = _read(path)
    stored, extra = _own_fields(document, space, path)
    state = _model_state(document, path)
    schemes = (OwnNames(), *space.checkpoint_schemes)
    scheme = next((s for s in schemes if s.rename(space.classifier) in state), None)
    if scheme is None:
        shown = ", ".join(list(state)[:SHOWN_KEYS])
        names = ", ".join(s.name for s in schemes)
        raise CheckpointError(
            f"{path}: not an {space.title} checkpoint of {names} (its first keys: {shown})"
        )
    return _Contents(document, state, scheme, stored, extra)


def _architecture(contents: _Contents, space: SearchSpace, path: str | Path) -> Any:
    if contents.config is not None:
        return contents.config
    try:
        config = space.architecture_from_checkpoint(
            contents.document, contents.state, contents.scheme
        )
    except UserError as error:
        raise CheckpointError(f"{path}: {error}") from None
    if config is None:
        raise CheckpointError(
            f"{path}: a {contents.scheme.name} checkpoint does not record its architecture; "
            "give the config"
        )
    return config


def _read(path: str | Path) -> dict[str, Any]:
    """The checkpoint's top-level dict, or a one-line error saying why there is none."""
    try:
        document = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint ({_load_failure(error)})"
        ) from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(document).__name__})")
    return document


def _load_failure(error: Exception) -> str:
    """The gist of a `torch.load` failure, whose messages run over several lines."""
    text = str(error)
    refused = text.partition("WeightsUnpickler error:")[2].strip().split("\n\n")[0]
    if refused:
        return f"weights-only unpickling refused it: {refused}"
    first = text.strip().split("\n")[0].split(". ")[0]
    return first or type(error).__name__


def _own_fields(
    document: Mapping[str, Any], space: SearchSpace, path: str | Path
) -> tuple[Any | None, dict[str, Any]]:
    """The config and extras of a checkpoint in the project's format; nothing for others."""
    if "format" not in document:
        return None, {}
    wanted = checkpoint_format(space)
    if document["format"] != wanted:
        raise CheckpointError(
            f"{path}: unknown checkpoint format {document['format']!r} (expected {wanted!r})"
        )
    if "model_state" not in document:
        raise CheckpointError(f"{path}: {wanted} checkpoint without model_state")
    stored = document.get("config")
    if not isinstance(stored, Mapping):
        raise CheckpointError(f"{path}: stored config is invalid: not a mapping")
    try:
        config = space.from_dict(stored)
    except UserError as error:
        raise CheckpointError(f"{path}: stored config is invalid: {error}") from None
    return config, dict(document.get("extra") or {})


def _model_state(document: dict[str, Any], path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside `document` (or `document` itself), without a `module.` prefix."""
    key = next((key for key in STATE_KEYS if key in document), None)
    state = document if key is None else document[key]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: {key} is a {type(state).__name__}, not a state dict")
    bad = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: not a state dict: {_listed(bad)} hold non-tensor values")
    if state and all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state


def _class_count(
    state: Mapping[str, torch.Tensor],
    space: SearchSpace,
    scheme: CheckpointScheme,
    path: str | Path,
    expected: int | None,
) -> int:
    key = scheme.rename(space.classifier)
    weight = state.get(key)
    if weight is None or weight.dim() != 2:
        raise CheckpointError(f"{path}: {scheme.name} checkpoint has no classifier weight {key}")
    classes = weight.shape[0]
    if expected is not None and classes != expected:
        raise CheckpointError(
            f"{path}: checkpoint classifier {key} {tuple(weight.shape)} has {classes} classes, "
            f"expected {expected}"
        )
    return classes


def _matched_state(
    state: Mapping[str, torch.Tensor],
    model: nn.Module,
    space: SearchSpace,
    config: Any,
    scheme: CheckpointScheme,
    path: str | Path,
) -> dict[str, torch.Tensor]:
    """`state` renamed to `model`'s keys; raises unless the two correspond one to one."""
    expected = model.state_dict()
    names = scheme.names(expected)
    ours_of = {theirs: ours for ours, theirs in names.items()}
    matched: dict[str, torch.Tensor] = {}
    unexpected, mismatched = [], []
    for key, value in state.items():
        ours = ours_of.get(key)
        if ours is None:
            unexpected.append(key)
            continue
        value = scheme.to_ours(ours, value)
        if value.shape != expected[ours].shape:
            shapes = f"{tuple(value.shape)} vs model {tuple(expected[ours].shape)}"
            mismatched.append(f"{key} {shapes}")
        else:
            matched[ours] = value
    filled = _fills(model, matched, scheme)
    missing = [
        theirs
        for ours, theirs in names.items()
        if ours not in matched and ours not in filled and theirs not in state
    ]
    if unexpected or mismatched or missing:
        problems = [
            f"{len(items)} {kind} ({_listed(items)})"
            for kind, items in (
                ("keys with other shapes", mismatched),
                ("missing keys", missing),
                ("unexpected keys", unexpected),
            )
            if items
        ]
        raise CheckpointError(
            f"{path}: {scheme.name} checkpoint does not fit {space.label(config)}: "
            + "; ".join(problems)
        )
    return matched | filled


def _fills(
    model: nn.Module, matched: Mapping[str, torch.Tensor], scheme: CheckpointScheme
) -> dict[str, torch.Tensor]:
    """Model tensors a checkpoint may lack: BN batch counters, and BNs its codebase omits."""
    fills = {
        key: value
        for key, value in model.state_dict().items()
        if key.endswith(".num_batches_tracked") and key not in matched
    }
    for name in scheme.identity_bns:
        if not any(key.startswith(f"{name}.") for key in matched):
            fills |= _identity_bn_state(name, cast(nn.BatchNorm3d, model.get_submodule(name)))
    return fills


def _identity_bn_state(name: str, bn: nn.BatchNorm3d) -> dict[str, torch.Tensor]:
    """Statistics that make an inference-mode BatchNorm the identity: (x - 0) / √(1 - ε + ε)."""
    ones = torch.ones(bn.num_features)
    return {
        f"{name}.weight": ones,
        f"{name}.bias": torch.zeros_like(ones),
        f"{name}.running_mean": torch.zeros_like(ones),
        f"{name}.running_var": ones - bn.eps,
        f"{name}.num_batches_tracked": torch.tensor(0),
    }


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOWN_KEYS])
    return shown + (", …" if len(keys) > SHOWN_KEYS else "")
