"""X3D as a search space: the presets of the paper, its six expansion axes, and the space object."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import asdict, fields, replace
from typing import Any

import torch
from torch import nn

from expansion.errors import ConfigError
from search_spaces.base import Axis, CheckpointScheme, InputView, SearchSpace
from search_spaces.x3d.architecture import config_from_checkpoint
from search_spaces.x3d.checkpoint_names import MMACTION2, PYTORCHVIDEO, SLOWFAST
from search_spaces.x3d.inherit import transfer_weights
from search_spaces.x3d.model import LIN5_WIDTH, X3DConfig, build_x3d, network_shape, summarize

# Crops are rounded to this many pixels so that spatial expansion lands on the paper's 160 / 224.
CROP_DIVISOR = 8

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


class X3DSpace(SearchSpace):
    """The X3D search space: seeded at X2D, grown along the six axes of the paper."""

    name = "x3d"
    title = "X3D"
    axes: Mapping[str, Axis] = AXES
    seed: X3DConfig = PRESETS["X2D"]
    presets: Mapping[str, X3DConfig] = PRESETS
    classifier = "head.fc.weight"
    checkpoint_schemes = (PYTORCHVIDEO, SLOWFAST, MMACTION2)
    inherits_weights = True

    def build(self, config: X3DConfig, num_classes: int, dropout: float = 0.0) -> nn.Module:
        return build_x3d(config, num_classes, dropout)

    def structure(self, config: X3DConfig) -> Hashable:
        return (config.frames, config.crop, network_shape(config))

    def architecture_from_checkpoint(
        self,
        document: Mapping[str, Any],
        state: Mapping[str, torch.Tensor],
        scheme: CheckpointScheme,
    ) -> X3DConfig:
        return config_from_checkpoint(document, state, scheme, self.presets)

    def transfer_weights(
        self,
        parent: X3DConfig,
        parent_state: Mapping[str, torch.Tensor],
        child: X3DConfig,
        num_classes: int,
        *,
        noise: float = 0.0,
        seed: int = 0,
    ) -> dict[str, torch.Tensor]:
        # the parent's shapes are in its state dict
        return transfer_weights(parent_state, child, num_classes, noise=noise, seed=seed)

    def input_view(self, config: X3DConfig) -> InputView:
        return InputView(frames=config.frames, stride=config.stride, crop=config.crop)

    def to_dict(self, config: X3DConfig) -> dict[str, Any]:
        return asdict(config)

    def from_dict(self, values: Mapping[str, Any]) -> X3DConfig:
        expected = {field.name for field in fields(X3DConfig)}
        unknown = sorted(set(values) - expected)
        missing = sorted(expected - set(values))
        if unknown or missing:
            raise ConfigError(f"X3D config: unknown fields {unknown}, missing fields {missing}")
        return X3DConfig(**values)

    def label(self, config: X3DConfig) -> str:
        return (
            f"X3D (width {config.width_factor}, bottleneck {config.bottleneck_factor}, "
            f"depth {config.depth_factor})"
        )

    def details(self, config: X3DConfig) -> dict[str, Any]:
        stages = summarize(config)
        residual = [row for row in stages if row.blocks is not None]
        return {
            "stage_widths": [row.width for row in residual],
            "stage_inner_widths": [row.inner for row in residual],
            "stage_blocks": [row.blocks for row in residual],
            "stages": [asdict(row) for row in stages],
        }

    def format_details(self, report: Mapping[str, Any]) -> list[str]:
        """The paper's Table 1 for one configuration: stages, blocks, widths, output sizes."""
        lines = [
            f"X3D  {report['frames']} frames × stride {report['stride']:g}, "
            f"crop {report['crop']}, width {report['width_factor']:g}, "
            f"bottleneck {report['bottleneck_factor']:g}, depth {report['depth_factor']:g}",
            "",
            f"{'stage':<7}{'blocks':>7}{'width':>8}{'inner':>8}   output (T×H×W)",
        ]
        for row in report["stages"]:
            blocks = "-" if row["blocks"] is None else str(row["blocks"])
            inner = "-" if row["inner"] is None else str(row["inner"])
            output = f"{row['frames']}×{row['size']}×{row['size']}"
            lines.append(f"{row['name']:<7}{blocks:>7}{row['width']:>8}{inner:>8}   {output}")
        return [
            *lines,
            f"{'pool':<7}{'-':>7}{report['stages'][-1]['width']:>8}{'-':>8}   1×1×1",
            f"{'lin5':<7}{'-':>7}{LIN5_WIDTH:>8}{'-':>8}   1×1×1",
            f"{'fc':<7}{'-':>7}{report['num_classes']:>8}{'-':>8}   classes",
        ]


X3D_SPACE = X3DSpace()
