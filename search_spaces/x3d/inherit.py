"""A child architecture's starting weights from its parent's: X3D's weight inheritance.

Every tensor of an X3D belongs to *channel spaces*: the stem's channels, each stage's output
channels (shared by all blocks of the stage through the residual sums), each block's inner
channels and its squeeze-excite hidden channels, and conv5's channels. A child that differs in
width or bottleneck has spaces of other sizes; each is mapped to the parent's by an index map:

- growing (Net2Net's function-preserving widening): the parent's channels keep their places and
  each new channel copies a random parent channel; a layer that *produces* the space copies the
  rows of the channels it copies (convolutions, BN scales, shifts and statistics, biases), a
  layer that *consumes* it divides each input column by the number of copies of its channel, so
  every sum sees what it saw before. The channel-wise convolutions copy per channel. Optional
  multiplicative noise on the consumers' columns breaks the copies' symmetry.
- shrinking (a contraction that starts from the larger model): the channels with the largest
  BN scales are kept, unscaled.

Depth: the first blocks of every stage are the parent's; blocks the child adds come last in
their stage and keep their fresh initialisation, whose last BN has zero scale and shift: such a
block adds nothing to the residual sum, and after the ReLU of the block before it, its own ReLU
changes nothing, so it is an exact identity until trained. A shallower child keeps the first
blocks. Data axes (frames, stride, crop) change no tensor: global pooling makes the weights
independent of the clip's size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from search_spaces.x3d.model import X3DConfig, build_x3d


@dataclass(frozen=True)
class ChannelMap:
    """Which parent channel each child channel takes, and by how much its consumers divide."""

    source: torch.Tensor  # child channel → parent channel
    copies: torch.Tensor  # per child channel: how many child channels share its parent channel


def _grow(parent: int, child: int, generator: torch.Generator) -> ChannelMap:
    extra = torch.randint(parent, (child - parent,), generator=generator)
    source = torch.cat([torch.arange(parent), extra])
    copies = torch.bincount(source, minlength=parent).to(torch.float32)[source]
    return ChannelMap(source, copies)


def _shrink(importance: torch.Tensor, child: int) -> ChannelMap:
    keep = importance.abs().topk(child).indices.sort().values
    return ChannelMap(keep, torch.ones(child))


# Parameter names of an X3D and the channel spaces of their first (output) and second (input)
# dimensions; None: a dimension no axis changes. Depthwise convolutions map only their output.
_STAGE_BLOCK = re.compile(r"stages\.(\d+)\.(\d+)\.(.+)")


def _spaces(name: str) -> tuple[str | None, str | None]:
    """The channel spaces of a parameter's output and input dimensions."""
    if name.startswith("stem."):
        return "stem", "depthwise" if name.startswith("stem.temporal") else None
    if name.startswith("head."):
        layer = name.split(".")[1]
        return {"conv5": ("conv5", "stage3"), "bn5": ("conv5", None), "lin5": (None, "conv5")}.get(
            layer, (None, None)
        )
    match = _STAGE_BLOCK.fullmatch(name)
    if match is None:
        raise ValueError(f"not an X3D parameter: {name}")
    stage, block, rest = int(match[1]), int(match[2]), match[3]
    inner, stage_out = f"inner{stage}.{block}", f"stage{stage}"
    stage_in = ("stem" if stage == 0 else f"stage{stage - 1}") if block == 0 else stage_out
    hidden = f"se{stage}.{block}"
    layer = rest.rsplit(".", 1)[0]
    return {
        "conv_a": (inner, stage_in),
        "bn_a": (inner, None),
        "conv_b": (inner, "depthwise"),
        "bn_b": (inner, None),
        "se.reduce": (hidden, inner),
        "se.expand": (inner, hidden),
        "conv_c": (stage_out, inner),
        "bn_c": (stage_out, None),
        "shortcut.0": (stage_out, stage_in),
        "shortcut.1": (stage_out, None),
    }[layer]


def _importance(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per channel space, the summed |BN scale| of the layers that produce it (SE hidden
    channels, which have no BN: the norm of their reducing weights)."""
    totals: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        out_space, _ = _spaces(name)
        if out_space is None:
            continue
        is_bn_scale = name.endswith(".weight") and value.dim() == 1 and ".se." not in name
        is_se_reduce = name.endswith("se.reduce.weight")
        if is_bn_scale or is_se_reduce:
            score = value.abs() if is_bn_scale else value.flatten(1).norm(dim=1)
            totals[out_space] = totals.get(out_space, 0) + score
    return totals


def transfer_weights(
    parent_state: Mapping[str, torch.Tensor],
    child: X3DConfig,
    num_classes: int,
    *,
    noise: float = 0.0,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """The child's state dict: the parent's weights mapped onto its channels and blocks, fresh
    identity blocks where the child is deeper (see the module's docstring).

    `noise` multiplies each input column of a widened consumer by 1 + noise·N(0, 1) (0: an
    exact copy of the parent's function); `seed` draws the copies and the noise.
    """
    generator = torch.Generator().manual_seed(seed)
    fresh = build_x3d(child, num_classes, dropout=0.0).state_dict()
    maps = _channel_maps(parent_state, fresh, generator)
    state: dict[str, torch.Tensor] = {}
    for name, value in fresh.items():
        if name not in parent_state:  # a block only the deeper child has
            state[name] = value
            continue
        state[name] = _mapped(name, parent_state[name], maps, noise, generator)
        if state[name].shape != value.shape:
            raise ValueError(f"{name}: mapped to {tuple(state[name].shape)}, not {value.shape}")
    return state


def _channel_maps(
    parent_state: Mapping[str, torch.Tensor],
    child_state: Mapping[str, torch.Tensor],
    generator: torch.Generator,
) -> dict[str, ChannelMap]:
    """Every channel space the parent and the child both have, at other sizes, mapped."""
    old_sizes, new_sizes = _space_sizes(parent_state), _space_sizes(child_state)
    importance = _importance(parent_state)
    maps = {}
    for space, old in old_sizes.items():
        new = new_sizes.get(space, old)
        if new > old:
            maps[space] = _grow(old, new, generator)
        elif new < old:
            maps[space] = _shrink(importance[space], new)
    return maps


def _space_sizes(state: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """The size of each channel space of a state dict: the output size of the tensors in it."""
    sizes = {}
    for name, value in state.items():
        out_space, _ = _spaces(name)
        if out_space is not None and value.dim() > 0:
            sizes[out_space] = value.shape[0]
    return sizes


def _mapped(
    name: str,
    value: torch.Tensor,
    maps: Mapping[str, ChannelMap],
    noise: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """`value` with its output channels taken from the parent's and its input columns taken and
    divided by their copies (see `ChannelMap`)."""
    out_space, in_space = _spaces(name)
    if value.dim() == 0:  # BN's batch counter
        return value.clone()
    if out_space in maps:
        value = value.index_select(0, maps[out_space].source)
    if in_space in maps and value.dim() > 1:
        channels = maps[in_space]
        widths = (1, -1, *[1] * (value.dim() - 2))
        value = value.index_select(1, channels.source) / channels.copies.view(widths)
        if noise:
            copied = (channels.copies > 1).to(value.dtype)
            jitter = torch.randn(value.shape[:2], generator=generator)
            jitter = jitter.view(*value.shape[:2], *widths[2:])
            value = value * (1 + noise * copied.view(widths) * jitter)
    return value.clone()
