"""The X3D configuration a checkpoint holds, read from its tensor shapes and stored settings.

The shapes fix the network (`NetworkShape`: stem and stage widths, inner widths, blocks per
stage). Widths round to multiples of 8 and blocks round up, so many factors build one network:
each factor returned is the stored configuration's or a preset's when that builds its part of
the network, else the simplest number that does (fewest decimals, then smallest). The input
view (frames, stride, crop) is not in the tensors: it comes from a stored configuration (a
SlowFast checkpoint's `cfg`, this project's configuration in the `meta` of its mmaction2
export), else from the presets with this network when they agree on one (L, XL; XS, S and M
share a network).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import yaml

from expansion.errors import CheckpointError, UserError
from search_spaces.base import CheckpointScheme
from search_spaces.x3d.model import (
    STAGE_BASE_WIDTHS,
    STEM_BASE_WIDTH,
    NetworkShape,
    X3DConfig,
    inner_width,
    network_shape,
    round_width,
    stage_blocks,
    stage_widths,
)

# Where an mmaction2 file exported by this project keeps the configuration (`to_dict`).
META_CONFIG = "expansion_x3d"
# Factors tried: 0.1, 0.2, … up to this, then the same with 2 and then 3 decimals.
MAX_FACTOR = 20
MAX_DECIMALS = 3
# SlowFast's config keys (`cfg.dump()` YAML) of the view and of the three factors.
SLOWFAST_VIEW = (("DATA", "NUM_FRAMES"), ("DATA", "SAMPLING_RATE"), ("DATA", "TRAIN_CROP_SIZE"))
SLOWFAST_FACTORS = (("X3D", "WIDTH_FACTOR"), ("X3D", "BOTTLENECK_FACTOR"), ("X3D", "DEPTH_FACTOR"))


def config_from_checkpoint(
    document: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
    scheme: CheckpointScheme,
    presets: Mapping[str, X3DConfig],
) -> X3DConfig:
    """The configuration of a checkpoint file `document` whose tensors `state` follow `scheme`.

    A `CheckpointError` when the shapes are no X3D's, or when no view is stored and the presets
    with this network do not fix one (the message names them).
    """
    shape = read_shape(state, scheme)
    stored = stored_config(document)
    factors = _factors(shape, [*([stored] if stored else []), *presets.values()], scheme)
    if stored is not None:
        return X3DConfig(stored.frames, stored.stride, stored.crop, *factors)
    matching = {name: preset for name, preset in presets.items() if network_shape(preset) == shape}
    views = {(preset.frames, preset.stride, preset.crop) for preset in matching.values()}
    if len(views) == 1:
        return X3DConfig(*views.pop(), *factors)
    network = "width {:g}, bottleneck {:g}, depth {:g}".format(*factors)
    if matching:
        names = ", ".join(matching)
        raise CheckpointError(
            f"{scheme.name} checkpoint records no frames, stride or crop, and its network "
            f"({network}) is that of presets {names}: give arch= one of them"
        )
    raise CheckpointError(
        f"{scheme.name} checkpoint records no frames, stride or crop, and its network "
        f"({network}) is no preset's: give arch=FILE.yaml with these factors and its view"
    )


def read_shape(state: Mapping[str, torch.Tensor], scheme: CheckpointScheme) -> NetworkShape:
    """The network that the tensors of `state` (named by `scheme`) have the shapes of."""

    def channels(key: str) -> int:
        theirs = scheme.rename(key)
        tensor = state.get(theirs)
        if tensor is None or tensor.dim() == 0:
            raise CheckpointError(
                f"{scheme.name} checkpoint without {theirs}: its architecture cannot be read"
            )
        return int(tensor.shape[0])

    def blocks(stage: int) -> int:
        count = 0
        while scheme.rename(f"stages.{stage}.{count}.conv_a.weight") in state:
            count += 1
        return count

    stages = range(len(STAGE_BASE_WIDTHS))
    return NetworkShape(
        stem=channels("stem.spatial.weight"),
        widths=tuple(channels(f"stages.{stage}.0.conv_c.weight") for stage in stages),
        inners=tuple(channels(f"stages.{stage}.0.conv_a.weight") for stage in stages),
        blocks=tuple(blocks(stage) for stage in stages),
    )


def stored_config(document: Mapping[str, Any]) -> X3DConfig | None:
    """The configuration a checkpoint file stores beside its tensors, if it stores one."""
    meta = document.get("meta")
    if isinstance(meta, Mapping) and isinstance(meta.get(META_CONFIG), Mapping):
        try:
            return X3DConfig(**meta[META_CONFIG])
        except (TypeError, UserError) as error:
            raise CheckpointError(f"meta.{META_CONFIG} is no X3D configuration: {error}") from None
    cfg = document.get("cfg")
    return None if cfg is None else _slowfast_config(cfg)


def _slowfast_config(cfg: Any) -> X3DConfig | None:
    """A SlowFast `cfg` (its YAML dump, or that parsed); None without the view or the factors."""
    if isinstance(cfg, str):
        try:
            cfg = yaml.safe_load(cfg)
        except yaml.YAMLError:
            raise CheckpointError("its stored cfg is not YAML") from None
    if not isinstance(cfg, Mapping):
        return None
    sections = {section: cfg.get(section) for section, _ in SLOWFAST_VIEW + SLOWFAST_FACTORS}
    values = [
        sections[section].get(key) if isinstance(sections[section], Mapping) else None
        for section, key in SLOWFAST_VIEW + SLOWFAST_FACTORS
    ]
    if any(value is None for value in values):
        return None
    try:
        return X3DConfig(*values)
    except UserError as error:
        raise CheckpointError(f"its stored cfg is no X3D configuration: {error}") from None


def _factors(
    shape: NetworkShape, candidates: list[X3DConfig], scheme: CheckpointScheme
) -> tuple[float, float, float]:
    """Width, bottleneck and depth factors that build `shape`: for each, the first of the
    candidates' that builds its part, else the simplest that does."""

    def widths_fit(factor: float) -> bool:
        stem = round_width(STEM_BASE_WIDTH, factor)
        return stem == shape.stem and stage_widths(factor) == shape.widths

    def inners_fit(factor: float) -> bool:
        return tuple(inner_width(w, factor) for w in shape.widths) == shape.inners

    def blocks_fit(factor: float) -> bool:
        return stage_blocks(factor) == shape.blocks

    found = []
    for what, fits, known in (
        (
            f"stem and stage widths {shape.stem}, {shape.widths}",
            widths_fit,
            [c.width_factor for c in candidates],
        ),
        (f"inner widths {shape.inners}", inners_fit, [c.bottleneck_factor for c in candidates]),
        (f"blocks per stage {shape.blocks}", blocks_fit, [c.depth_factor for c in candidates]),
    ):
        factor = next((value for value in known if fits(value)), None) or _simplest(fits)
        if factor is None:
            raise CheckpointError(
                f"{scheme.name} checkpoint whose {what} no X3D factor gives (up to "
                f"{MAX_FACTOR}, {MAX_DECIMALS} decimals)"
            )
        found.append(factor)
    return found[0], found[1], found[2]


def _simplest(fits: Callable[[float], bool]) -> float | None:
    """The factor with the fewest decimals, then the smallest, that `fits`."""
    for decimals in range(1, MAX_DECIMALS + 1):
        scale = 10**decimals
        for step in range(1, MAX_FACTOR * scale + 1):
            if fits(step / scale):
                return step / scale
    return None
