"""Which frames a clip takes: training windows, evenly spaced test clips, frame-rate resampling.

All functions are pure index arithmetic over a video of `num_frames` frames. A window of `frames`
frames at `stride` starting at `start` takes frames `round(start + i * stride)` (halves round
up), and frames past the end repeat the last frame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from expansion.errors import ConfigError


@dataclass(frozen=True)
class TestViews:
    """The test protocol: `clips` windows evenly spaced in time × `crops` spatial crops per clip.

    `crops=1` is the centre crop of the training crop size after scaling the short side to 128γs
    (K-Center); `crops=3` is three square crops of 128γs along the long side (30-view for 10×3).
    """

    __test__ = False  # not a pytest test class, despite the name

    clips: int = 1
    crops: int = 1

    def __post_init__(self) -> None:
        if self.clips < 1 or self.crops < 1:
            raise ConfigError(f"invalid test views {self}: clips and crops must be positive")

    @property
    def count(self) -> int:
        """Views per video."""
        return self.clips * self.crops

    @classmethod
    def parse(cls, text: str) -> TestViews:
        """Read `"KxS"`, e.g. `"10x3"` for the 30-view protocol or `"10x1"` for 10-Center."""
        match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
        if match is None:
            raise ConfigError(f"test views must look like '10x3', got {text!r}")
        return cls(int(match[1]), int(match[2]))


SINGLE_VIEW = TestViews(1, 1)


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def window(start: float, frames: int, stride: float, num_frames: int) -> list[int]:
    """The frame indices of a window, clamped to the last frame of the video."""
    return [min(round_half_up(start + i * stride), num_frames - 1) for i in range(frames)]


def _latest_start(num_frames: int, frames: int, stride: float) -> float:
    """The last start at which the window still fits in the video (0 if it never fits)."""
    return max(num_frames - 1 - (frames - 1) * stride, 0.0)


def train_start(num_frames: int, frames: int, stride: float, rng: np.random.Generator) -> int:
    """A uniformly random whole-frame start for a training window."""
    return int(rng.integers(0, math.floor(_latest_start(num_frames, frames, stride)) + 1))


def test_starts(num_frames: int, frames: int, stride: float, clips: int) -> list[float]:
    """Starts of `clips` windows whose centres split the video evenly (one clip: the centre)."""
    latest = _latest_start(num_frames, frames, stride)
    return [latest * (k + 0.5) / clips for k in range(clips)]


def resampled_length(num_frames: int, source_fps: float, fps: float) -> int:
    """How many frames a video of `num_frames` at `source_fps` has when resampled to `fps`."""
    return max(1, math.floor(num_frames * fps / source_fps + 1e-6))


def to_source_indices(
    indices: list[int], source_fps: float, fps: float, num_frames: int
) -> list[int]:
    """Source frames shown at the times of frames `indices` of the video resampled to `fps`."""
    ratio = source_fps / fps
    return [min(math.floor(i * ratio + 1e-6), num_frames - 1) for i in indices]
