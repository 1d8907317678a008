"""The X3D family (Feichtenhofer, CVPR 2020) as a search space: network, presets and six axes.

The network follows the reference implementation block for block: a 1×3×3 + channel-wise 5×1×1
stem, four stages of bottleneck blocks with a channel-wise 3×3×3 conv (SE on every other block,
Swish after it, zero-initialised last BN), and a conv5 + lin5 head. Widths are given in the
reference code's convention (`width_factor` 2.0 = the paper's X2D/XS…L widths).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from search_spaces.base import Axis, InputView

STEM_BASE_WIDTH = 12
# res2 keeps the stem's width, each later stage doubles it (SlowFast: SCALE_RES2 off).
STAGE_BASE_WIDTHS = (12, 24, 48, 96)
STAGE_BASE_BLOCKS = (1, 2, 5, 3)
LIN5_WIDTH = 2048
SE_RATIO = 1 / 16
STEM_TEMPORAL_KERNEL = 5
BLOCK_TEMPORAL_KERNEL = 3
# Crops are rounded to this many pixels so that spatial expansion lands on the paper's 160 / 224.
CROP_DIVISOR = 8


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
                raise TypeError(f"X3DConfig.{field.name} must be a number, got {value!r}")
            if not value > 0:
                raise ValueError(f"X3DConfig.{field.name} must be positive, got {value!r}")
        if not float(self.frames).is_integer() or not float(self.crop).is_integer():
            raise ValueError(f"X3DConfig frames and crop must be whole numbers: {self}")


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
        pad = STEM_TEMPORAL_KERNEL // 2
        self.temporal = nn.Conv3d(
            width,
            width,
            (STEM_TEMPORAL_KERNEL, 1, 1),
            padding=(pad, 0, 0),
            groups=width,
            bias=False,
        )
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
        pad = BLOCK_TEMPORAL_KERNEL // 2
        self.conv_a = nn.Conv3d(in_width, inner, 1, bias=False)
        self.bn_a = nn.BatchNorm3d(inner)
        self.relu_a = nn.ReLU(inplace=True)
        self.conv_b = nn.Conv3d(
            inner,
            inner,
            (BLOCK_TEMPORAL_KERNEL, 3, 3),
            stride=(1, stride, stride),
            padding=(pad, 1, 1),
            groups=inner,
            bias=False,
        )
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
        raise ValueError(f"num_classes must be positive, got {num_classes}")
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


# X2D's stride does not change its single-frame input; it only fixes the clip duration the
# temporal axes start from. The paper's path reaches XS (4 × 12) from X2D by one X-Fast step
# (frames × 2, stride × 0.5) and one X-Temporal step (frames × 2, stride × 0.75), so X2D's stride
# is 12 / (0.5 · 0.75) = 32 source frames (about 1 s of 30-fps video, against XS's 1.6 s).
PRESETS: dict[str, X3DConfig] = {
    "X2D": X3DConfig(1, 32, 112, 2.0, 1.0, 1.0),
    "XS": X3DConfig(4, 12, 160, 2.0, 2.25, 2.2),
    "S": X3DConfig(13, 6, 160, 2.0, 2.25, 2.2),
    "M": X3DConfig(16, 5, 224, 2.0, 2.25, 2.2),
    "L": X3DConfig(16, 5, 312, 2.0, 2.25, 5.0),
    "XL": X3DConfig(16, 5, 312, 2.9, 2.25, 5.0),
}

# The 3-crop (30-view) test crop of each preset (reference §5); K-Center tests at the train crop.
TEST_CROPS: dict[str, int] = {"XS": 182, "S": 182, "M": 256, "L": 356, "XL": 356}


def _round_factor(value: float) -> float:
    """Drop float noise from repeated multiplication (2.2 · 2.2 → 4.84, not 4.840000000000001)."""
    return float(f"{value:.6g}")


def _scale_frames(frames: int, factor: float) -> int:
    return max(1, round(frames * factor))


def _apply_frame_rate(config: X3DConfig, factor: float) -> X3DConfig:
    """More frames over the same duration: frames × f, stride ÷ f (realised frame ratio)."""
    frames = _scale_frames(config.frames, factor)
    return replace(
        config, frames=frames, stride=_round_factor(config.stride * config.frames / frames)
    )


# X-Temporal: one step doubles the frames and multiplies the stride by 0.75 (duration × 1.5).
# A factor f scales frames by f and the stride by f^log2(0.75), so f = 2 is exactly the step.
_TEMPORAL_STRIDE_EXPONENT = math.log2(0.75)


def _apply_temporal(config: X3DConfig, factor: float) -> X3DConfig:
    """Longer clips at a higher frame rate: frames × f, stride × f^log2(0.75)."""
    frames = _scale_frames(config.frames, factor)
    realised = frames / config.frames
    stride = config.stride * realised**_TEMPORAL_STRIDE_EXPONENT
    return replace(config, frames=frames, stride=_round_factor(stride))


def _apply_spatial(config: X3DConfig, factor: float) -> X3DConfig:
    """Input resolution: crop × f, rounded to a multiple of 8 pixels (112·√2 → 160)."""
    crop = max(CROP_DIVISOR, round(config.crop * factor / CROP_DIVISOR) * CROP_DIVISOR)
    return replace(config, crop=crop)


def _apply_width(config: X3DConfig, factor: float) -> X3DConfig:
    return replace(config, width_factor=_round_factor(config.width_factor * factor))


def _apply_bottleneck(config: X3DConfig, factor: float) -> X3DConfig:
    return replace(config, bottleneck_factor=_round_factor(config.bottleneck_factor * factor))


def _apply_depth(config: X3DConfig, factor: float) -> X3DConfig:
    return replace(config, depth_factor=_round_factor(config.depth_factor * factor))


# The six axes and the paper's step for each (reference §3); every step roughly doubles the cost.
# Width: the reference widens channels ×2 per step, but a 1×1×1 conv's cost grows with the square
# of width, so ×2 costs ~3.7× on XS. The paper's own width step (L → XL: 2.0 → 2.9) is ×1.45 for
# ~2× the GFLOPs; we use √2, which doubles every dense conv and keeps steps comparable.
AXES: dict[str, Axis] = {
    axis.name: axis
    for axis in (
        Axis("spatial", "X-Spatial γs", math.sqrt(2), "crop × f", _apply_spatial),
        Axis("temporal", "X-Temporal γt", 2.0, "frames × f, stride × f^-0.415", _apply_temporal),
        Axis("frame_rate", "X-Fast γτ", 2.0, "frames × f, stride ÷ f", _apply_frame_rate),
        Axis("width", "X-Width γw", math.sqrt(2), "width factor × f", _apply_width),
        Axis("bottleneck", "X-Bottleneck γb", 2.25, "bottleneck factor × f", _apply_bottleneck),
        Axis("depth", "X-Depth γd", 2.2, "depth factor × f", _apply_depth),
    )
}


class X3DSpace:
    """The X3D search space: seeded at X2D, grown along the six axes of the paper."""

    name = "x3d"
    axes: Mapping[str, Axis] = AXES
    seed: X3DConfig = PRESETS["X2D"]
    presets: Mapping[str, X3DConfig] = PRESETS

    def build(self, config: X3DConfig, num_classes: int) -> nn.Module:
        return build_x3d(config, num_classes)

    def structure(self, config: X3DConfig) -> Hashable:
        widths = stage_widths(config.width_factor)
        return (
            config.frames,
            config.crop,
            round_width(STEM_BASE_WIDTH, config.width_factor),
            widths,
            tuple(inner_width(width, config.bottleneck_factor) for width in widths),
            stage_blocks(config.depth_factor),
        )

    def input_view(self, config: X3DConfig) -> InputView:
        return InputView(frames=config.frames, stride=config.stride, crop=config.crop)

    def to_dict(self, config: X3DConfig) -> dict[str, Any]:
        return asdict(config)

    def from_dict(self, values: Mapping[str, Any]) -> X3DConfig:
        expected = {field.name for field in fields(X3DConfig)}
        unknown = sorted(set(values) - expected)
        missing = sorted(expected - set(values))
        if unknown or missing:
            raise ValueError(f"X3D config: unknown fields {unknown}, missing fields {missing}")
        return X3DConfig(**values)


X3D_SPACE = X3DSpace()
