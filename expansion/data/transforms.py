"""Spatial transforms of a clip: scaling, crops, flip, normalisation (X3D paper §4, §A.3).

Frames are scaled by swscale while they are converted to RGB (one pass, much faster on a CPU than
scaling tensors); crops and the flip are views of a uint8 array; the float tensor is made last.
"""

from __future__ import annotations

from collections.abc import Sequence

import av
import numpy as np
import torch
from av.video.reformatter import Interpolation, VideoReformatter

MEAN = 0.45
STD = 0.225
# Lanczos, with full-resolution chroma and accurate rounding (the default fast path of swscale
# shifts grey levels by up to 2 when it scales and converts YUV to RGB at once). Lanczos keeps
# detail up to the scaled frame's own resolution and drops what lies beyond it; bilinear blurs the
# first and lets a share of the second through: reversing sine stripes 2.1 px apart keep 0.29-0.36
# of their change at their scale and 0.02-0.03 one crop smaller with Lanczos, 0.22-0.28 and
# 0.08-0.11 with bilinear (`experiments/scales_cpu/v6_probes/transmission.txt`). Lanczos costs
# 1.3-2.4x bilinear's time per frame.
SCALING = Interpolation.LANCZOS | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def short_side_scale(crop: int, factor: int) -> int:
    """`factor`·γs, the short side used with a crop of `crop` (γs = crop / 112), rounded down.

    Rounding down reproduces the reference's 3-crop test sizes: 182 (XS, S), 256 (M), 356 (L, XL).
    """
    return factor * crop // 112


def scaled_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """`(height, width)` with the short side scaled to `short_side`, keeping the aspect ratio."""
    if height <= width:
        return short_side, max(short_side, round(width * short_side / height))
    return max(short_side, round(height * short_side / width)), short_side


def to_rgb(frames: Sequence[av.VideoFrame], height: int, width: int) -> np.ndarray:
    """Frames scaled to `height`×`width` as a uint8 array `(T, H, W, 3)`."""
    scaler = VideoReformatter()  # keeps its swscale context from frame to frame: 3× faster
    return np.stack(
        [
            scaler.reformat(
                frame, width=width, height=height, format="rgb24", interpolation=SCALING
            ).to_ndarray()
            for frame in frames
        ]
    )


def crop(clip: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The `height`×`width` region of every frame of `clip` `(T, H, W, C)` at (`top`, `left`)."""
    if top < 0 or left < 0 or top + height > clip.shape[1] or left + width > clip.shape[2]:
        raise ValueError(f"crop {height}x{width} at ({top}, {left}) outside {clip.shape[1:3]}")
    return clip[:, top : top + height, left : left + width]


def centre_offset(length: int, size: int) -> int:
    return (length - size) // 2


def long_side_offsets(length: int, size: int, crops: int) -> list[int]:
    """Offsets of `crops` crops of `size` spread evenly from one end of `length` to the other."""
    if crops == 1:
        return [centre_offset(length, size)]
    return [round(k * (length - size) / (crops - 1)) for k in range(crops)]


def to_tensor(clip: np.ndarray) -> torch.Tensor:
    """A uint8 clip `(T, H, W, 3)` as a normalised float32 tensor `(3, T, H, W)`."""
    pixels = torch.from_numpy(np.ascontiguousarray(clip)).permute(3, 0, 1, 2)
    tensor = torch.empty(pixels.shape, dtype=torch.float32)
    torch.mul(pixels, 1 / (255 * STD), out=tensor)  # converts, reorders and scales in one pass
    return tensor.sub_(MEAN / STD)
