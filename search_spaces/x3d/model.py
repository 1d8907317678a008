"""The X3D network (Feichtenhofer, CVPR 2020): its configuration, layers and stage summary.

The network follows the reference implementation block for block: a 1×3×3 + channel-wise 5×1×1
stem, four stages of bottleneck blocks with a channel-wise 3×3×3 conv (SE on every other block,
Swish after it, zero-initialised last BN), and a conv5 + lin5 head. Widths are given in the
reference code's convention (`width_factor` 2.0 = the paper's X2D/XS…L widths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from expansion.errors import ConfigError
from search_spaces.x3d.channelwise import ChannelwiseConv3d

STEM_BASE_WIDTH = 12
# res2 keeps the stem's width, each later stage doubles it (SlowFast: SCALE_RES2 off).
STAGE_BASE_WIDTHS = (12, 24, 48, 96)
STAGE_BASE_BLOCKS = (1, 2, 5, 3)
LIN5_WIDTH = 2048
SE_RATIO = 1 / 16
STEM_TEMPORAL_KERNEL = 5
BLOCK_TEMPORAL_KERNEL = 3


@dataclass(frozen=True)
class X3DConfig:
    """One X3D architecture and its input view.

    `stride` counts source-video frames between sampled frames and may be fractional; `crop` is
    the square training crop (112·γs). `width_factor` follows SlowFast's `WIDTH_FACTOR`.
    """

    frames: int
    stride: float
    crop: int
    width_factor: float
    bottleneck_factor: float
    depth_factor: float

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"X3DConfig.{field.name} must be a number, got {value!r}")
            if not value > 0:
                raise ConfigError(f"X3DConfig.{field.name} must be positive, got {value!r}")
        if not float(self.frames).is_integer() or not float(self.crop).is_integer():
            raise ConfigError(f"X3DConfig frames and crop must be whole numbers: {self}")
        # One spelling per value, however it was read back (a table stores 32 as 32.0): whole
        # numbers as ints for frames, crop and stride, factors as floats.
        object.__setattr__(self, "frames", int(self.frames))
        object.__setattr__(self, "crop", int(self.crop))
        stride = float(self.stride)
        object.__setattr__(self, "stride", int(stride) if stride.is_integer() else stride)
        for name in ("width_factor", "bottleneck_factor", "depth_factor"):
            object.__setattr__(self, name, float(getattr(self, name)))


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """Scale a channel count and round it to a multiple of `divisor`, never more than 10 % down."""
    scaled = width * multiplier
    rounded = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def stage_blocks(depth_factor: float) -> tuple[int, ...]:
    """Blocks per stage res2..res5 for a depth factor."""
    return tuple(math.ceil(depth_factor * blocks) for blocks in STAGE_BASE_BLOCKS)


def stage_widths(width_factor: float) -> tuple[int, ...]:
    """Output channels per stage res2..res5 for a width factor."""
    return tuple(round_width(base, width_factor) for base in STAGE_BASE_WIDTHS)


def inner_width(width: int, bottleneck_factor: float) -> int:
    """Channels of a block's channel-wise conv for a stage of `width` output channels."""
    return max(1, int(bottleneck_factor * width))


@dataclass(frozen=True)
class NetworkShape:
    """What the three factors fix of a network: the stem's width and, per stage res2..res5, the
    output width, the inner (channel-wise conv and conv5) width and the number of blocks."""

    stem: int
    widths: tuple[int, ...]
    inners: tuple[int, ...]
    blocks: tuple[int, ...]


def network_shape(config: X3DConfig) -> NetworkShape:
    widths = stage_widths(config.width_factor)
    return NetworkShape(
        stem=round_width(STEM_BASE_WIDTH, config.width_factor),
        widths=widths,
        inners=tuple(inner_width(width, config.bottleneck_factor) for width in widths),
        blocks=stage_blocks(config.depth_factor),
    )


class SqueezeExcite(nn.Module):
    """Channel attention: global pool → bottleneck 1×1×1 convs → sigmoid scale."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = round_width(channels, SE_RATIO)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.reduce = nn.Conv3d(channels, hidden, 1)
        self.relu = nn.ReLU(inplace=True)
        self.expand = nn.Conv3d(hidden, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))
        return x * scale


class Stem(nn.Module):
    """conv1: spatial 1×3×3 conv (stride 2) then a channel-wise temporal 5×1×1 conv, BN, ReLU."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.spatial = nn.Conv3d(
            3, width, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False
        )
        self.temporal = ChannelwiseConv3d(width, (STEM_TEMPORAL_KERNEL, 1, 1))
        self.bn = nn.BatchNorm3d(width)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.temporal(self.spatial(x))))


class Bottleneck(nn.Module):
    """1×1×1 → channel-wise 3×3×3 (→ SE) → Swish → 1×1×1, plus a residual; ReLU after the sum."""

    def __init__(
        self, in_width: int, inner: int, out_width: int, stride: int, use_se: bool
    ) -> None:
        super().__init__()
        self.conv_a = nn.Conv3d(in_width, inner, 1, bias=False)
        self.bn_a = nn.BatchNorm3d(inner)
        self.relu_a = nn.ReLU(inplace=True)
        self.conv_b = ChannelwiseConv3d(inner, (BLOCK_TEMPORAL_KERNEL, 3, 3), stride)
        self.bn_b = nn.BatchNorm3d(inner)
        self.se = SqueezeExcite(inner) if use_se else nn.Identity()
        self.swish = nn.SiLU()
        self.conv_c = nn.Conv3d(inner, out_width, 1, bias=False)
        self.bn_c = nn.BatchNorm3d(out_width)
        self.shortcut: nn.Module = nn.Identity()
        if in_width != out_width or stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_width, out_width, 1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(out_width),
            )
        self.relu_out = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu_a(self.bn_a(self.conv_a(x)))
        y = self.swish(self.se(self.bn_b(self.conv_b(y))))
        y = self.bn_c(self.conv_c(y))
        return self.relu_out(y + self.shortcut(x))


class Head(nn.Module):
    """conv5 (1×1×1, BN, ReLU) → global average pool → lin5 (1×1×1 to 2048, ReLU) → FC."""

    def __init__(self, in_width: int, conv5_width: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.conv5 = nn.Conv3d(in_width, conv5_width, 1, bias=False)
        self.bn5 = nn.BatchNorm3d(conv5_width)
        self.relu5 = nn.ReLU(inplace=True)
        # Adaptive pooling lets one model run at any clip length and crop (30-view testing).
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.lin5 = nn.Conv3d(conv5_width, LIN5_WIDTH, 1, bias=False)
        self.relu_lin5 = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(LIN5_WIDTH, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu5(self.bn5(self.conv5(x))))
        x = self.relu_lin5(self.lin5(x))
        return self.fc(self.dropout(torch.flatten(x, 1)))


class X3D(nn.Module):
    """Maps clips `(B, 3, T, H, W)` to class logits `(B, num_classes)`."""

    def __init__(self, config: X3DConfig, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.config = config
        stem_width = round_width(STEM_BASE_WIDTH, config.width_factor)
        self.stem = Stem(stem_width)
        stages = []
        in_width = stem_width
        blocks_per_stage = stage_blocks(config.depth_factor)
        for out_width, blocks in zip(
            stage_widths(config.width_factor), blocks_per_stage, strict=True
        ):
            inner = inner_width(out_width, config.bottleneck_factor)
            stage = nn.Sequential(
                *(
                    Bottleneck(
                        in_width if index == 0 else out_width,
                        inner,
                        out_width,
                        stride=2 if index == 0 else 1,
                        use_se=index % 2 == 0,
                    )
                    for index in range(blocks)
                )
            )
            stages.append(stage)
            in_width = out_width
        self.stages = nn.Sequential(*stages)
        self.head = Head(in_width, inner, num_classes, dropout)
        # Meta tensors (shape-only models for complexity counting) hold no values to initialise.
        if not self.stem.spatial.weight.is_meta:
            self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)
        # Each residual branch starts as the identity: its last BN scales by zero.
        for block in self.modules():
            if isinstance(block, Bottleneck):
                nn.init.zeros_(block.bn_c.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def build_x3d(config: X3DConfig, num_classes: int = 400, dropout: float = 0.5) -> X3D:
    """A freshly initialised X3D for `config`, mapping `(B, 3, frames, crop, crop)` to logits."""
    if num_classes < 1:
        raise ConfigError(f"num_classes must be positive, got {num_classes}")
    return X3D(config, num_classes, dropout)


@dataclass(frozen=True)
class StageSummary:
    """One row of an architecture table: a stage's blocks, widths and output `frames × size²`."""

    name: str
    blocks: int | None
    width: int
    inner: int | None
    frames: int
    size: int


def summarize(config: X3DConfig) -> list[StageSummary]:
    """The stem, res2..res5 and conv5 of `config`, as in the paper's Table 1."""
    stem_width = round_width(STEM_BASE_WIDTH, config.width_factor)
    size = (config.crop + 1) // 2  # the stem's stride-2 conv (padding 1, kernel 3)
    rows = [StageSummary("conv1", None, stem_width, None, config.frames, size)]
    widths = stage_widths(config.width_factor)
    blocks_per_stage = stage_blocks(config.depth_factor)
    for index, (width, blocks) in enumerate(zip(widths, blocks_per_stage, strict=True)):
        size = (size + 1) // 2  # each stage's first block has spatial stride 2
        inner = inner_width(width, config.bottleneck_factor)
        rows.append(StageSummary(f"res{index + 2}", blocks, width, inner, config.frames, size))
    conv5 = inner_width(widths[-1], config.bottleneck_factor)
    rows.append(StageSummary("conv5", None, conv5, None, config.frames, size))
    return rows
