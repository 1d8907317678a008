"""One clip from one video: the single path every source takes after "frames at these indices".

A `FrameSource` (a decoded file, a synthetic video) only has to hand out frames at indices; the
choice of indices, frame-rate resampling, scaling, cropping, flipping and normalisation happen
here, identically for every source.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import av
import numpy as np
import torch

from expansion.data import sampling, transforms
from expansion.data.sampling import TestViews
from search_spaces.base import InputView

# Training scales the short side to a random size in [128γs, 160γs] (X3D paper §4).
TRAIN_SCALES = (128, 160)
TEST_SCALE = 128


class FrameSource(Protocol):
    """A video that can hand out frames by index."""

    fps: float
    num_frames: int

    def frames(self, indices: Sequence[int]) -> list[av.VideoFrame]:
        """Frames at strictly increasing indices in `[0, num_frames)`."""
        ...


class NothingToRelease(AbstractContextManager["NothingToRelease"]):
    """A frame source that holds nothing open: `with source:` gives it as it is."""

    def __exit__(self, *exception: object) -> None:
        return None


def _read(source: FrameSource, indices: list[int], fps: float | None, short: int) -> np.ndarray:
    """RGB frames at `indices` of the video resampled to `fps`, short side scaled to `short`."""
    if fps is not None:
        indices = sampling.to_source_indices(indices, source.fps, fps, source.num_frames)
    unique, inverse = np.unique(indices, return_inverse=True)
    frames = source.frames(unique.tolist())
    size = transforms.scaled_size(frames[0].height, frames[0].width, short)
    return transforms.to_rgb(frames, *size)[inverse]


def _length(source: FrameSource, fps: float | None) -> int:
    if fps is None:
        return source.num_frames
    return sampling.resampled_length(source.num_frames, source.fps, fps)


def train_clip(
    source: FrameSource, view: InputView, rng: np.random.Generator, fps: float | None = None
) -> torch.Tensor:
    """A random training clip: random window, random short-side scale and crop, random flip."""
    length = _length(source, fps)
    start = sampling.train_start(length, view.frames, view.stride, rng)
    indices = sampling.window(start, view.frames, view.stride, length)
    low, high = (transforms.short_side_scale(view.crop, s) for s in TRAIN_SCALES)
    short = int(rng.integers(low, high + 1))
    clip = _read(source, indices, fps, short)
    top = int(rng.integers(0, clip.shape[1] - view.crop + 1))
    left = int(rng.integers(0, clip.shape[2] - view.crop + 1))
    clip = transforms.crop(clip, top, left, view.crop, view.crop)
    if rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    return transforms.to_tensor(clip)


def test_clips(
    source: FrameSource,
    view: InputView,
    views: TestViews,
    clip_index: int,
    fps: float | None = None,
) -> list[torch.Tensor]:
    """The `views.crops` spatial crops of temporal clip `clip_index` of `views.clips`."""
    length = _length(source, fps)
    start = sampling.test_starts(length, view.frames, view.stride, views.clips)[clip_index]
    indices = sampling.window(start, view.frames, view.stride, length)
    short = transforms.short_side_scale(view.crop, TEST_SCALE)
    clip = _read(source, indices, fps, short)
    height, width = clip.shape[1:3]
    if views.crops == 1:
        top, left = (transforms.centre_offset(n, view.crop) for n in (height, width))
        return [transforms.to_tensor(transforms.crop(clip, top, left, view.crop, view.crop))]
    if height <= width:
        places = [(0, left) for left in transforms.long_side_offsets(width, short, views.crops)]
    else:
        places = [(top, 0) for top in transforms.long_side_offsets(height, short, views.crops)]
    return [transforms.to_tensor(transforms.crop(clip, y, x, short, short)) for y, x in places]
