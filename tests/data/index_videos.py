"""Test videos whose pixels encode the frame index, written with PyAV (not the synthetic data).

Frame `i` is a flat grey level `8 + 4 i`, which survives H.264 to within ±2, so a clip's frame
indices can be read back exactly from the mean of each frame. Optionally the grey level varies
along x instead (a static ramp) to locate spatial crops.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

MAX_INDEX = 61  # 8 + 4 * 61 = 252


def encode_video(
    path: Path,
    num_frames: int,
    *,
    width: int = 64,
    height: int = 48,
    fps: int = 30,
    gop: int | None = None,
    ramp: bool = False,
) -> Path:
    """Write an H.264 file whose frame `i` is grey `8 + 4 i` (or, with `ramp`, grey `x`)."""
    options = {"g": str(gop)} if gop else {}
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps), options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(num_frames):
            if ramp:
                image = np.broadcast_to(
                    np.arange(width, dtype=np.uint8)[None, :, None] * 2 + 16, (height, width, 3)
                )
            else:
                assert i <= MAX_INDEX, "frame index does not fit in a grey level"
                image = np.full((height, width, 3), 8 + 4 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def grey(clip: torch.Tensor) -> torch.Tensor:
    """Undo the normalisation: 0-255 pixel values of a `(3, T, H, W)` clip."""
    return (clip * 0.225 + 0.45) * 255


def frame_indices(clip: torch.Tensor) -> list[int]:
    """The frame index encoded in each frame of a clip of an index video."""
    levels = grey(clip).mean(dim=(0, 2, 3))
    return [round((float(v) - 8) / 4) for v in levels]
