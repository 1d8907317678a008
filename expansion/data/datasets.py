"""The dataset of clips: training clips or test views of a collection of videos, and bad data.

Training items are one random clip per video; the randomness is a function of
`(seed, epoch, index)` only, so results do not depend on the number of DataLoader workers.
Evaluation items are every view of every video (`test_views.clips` × `test_views.crops` per video);
`view_of(index)` says which video, temporal clip and spatial crop an item is.

A video that cannot be read is replaced by another one drawn from the same deterministic random
stream, with an `UnreadableVideoWarning` naming it; failures are recorded in a `FailureLedger`
that the main process and the DataLoader workers share. Once more than `max_bad_share` of the
videos failed, loading stops with a `DataError` naming the first few (`preflight.check_videos`
finds them all before training).
"""

from __future__ import annotations

import warnings
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from expansion.data import clips
from expansion.data.clips import FrameSource
from expansion.data.errors import (
    DataError,
    UnreadableVideoWarning,
    too_many_unreadable,
    why_unreadable,
)
from expansion.data.failures import FailureLedger
from expansion.data.sampling import SINGLE_VIEW, TestViews
from expansion.data.video import READ_ERRORS
from expansion.errors import ConfigError
from search_spaces.base import InputView

Mode = Literal["train", "val", "test"]
MODES: tuple[Mode, ...] = ("train", "val", "test")

# The share of a dataset's videos that may be unreadable before loading stops.
MAX_BAD_SHARE = 0.05
# Replacement draws per item before giving up; only reached when most videos are unreadable.
MAX_ATTEMPTS = 20


def check_bad_share(max_bad_share: float) -> None:
    """A `ConfigError` unless `max_bad_share` is a share of the videos, in [0, 1]."""
    if not 0 <= max_bad_share <= 1:
        raise ConfigError(f"max_bad_share must be in [0, 1], got {max_bad_share}")


class VideoCollection(Protocol):
    """Labelled videos that can be opened by index (video files, synthetic videos)."""

    num_classes: int

    def __len__(self) -> int: ...

    def label(self, index: int) -> int: ...

    def name(self, index: int) -> str:
        """How warnings and errors refer to the video (its path)."""
        ...

    def open(self, index: int) -> AbstractContextManager[FrameSource]: ...


@dataclass(frozen=True)
class View:
    """Where a dataset item comes from: a video, a temporal clip and a spatial crop of it."""

    video: int
    clip: int
    crop: int


class ClipDataset(Dataset[tuple[torch.Tensor, int, int]]):
    """Clips `(3, T, crop, crop)` of `videos` with their label and video index.

    `mode="train"` gives one random clip per video; `"val"` and `"test"` both give every view of
    `test_views` (crops of 128γs along the long side when `test_views.crops > 1`). `fps`, when
    given, resamples every video to that frame rate before `view.stride` counts frames.
    """

    def __init__(
        self,
        videos: VideoCollection,
        view: InputView,
        mode: Mode = "train",
        *,
        test_views: TestViews = SINGLE_VIEW,
        seed: int = 0,
        fps: float | None = None,
        max_bad_share: float = MAX_BAD_SHARE,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        check_bad_share(max_bad_share)
        if fps is not None and fps <= 0:
            raise ConfigError(f"fps must be positive, got {fps}")
        if len(videos) == 0:
            raise DataError("the dataset has no videos")
        self.videos = videos
        self.view = view
        self.mode = mode
        self.test_views = test_views
        self.seed = seed
        self.fps = fps
        self.max_bad_share = max_bad_share
        self.epoch = 0
        self._ledger = FailureLedger(len(videos))
        self._warned: set[int] = set()
        self._last_views: tuple[tuple[int, int], list[torch.Tensor]] | None = None

    @property
    def num_classes(self) -> int:
        return self.videos.num_classes

    @property
    def num_videos(self) -> int:
        return len(self.videos)

    @property
    def views_per_video(self) -> int:
        return 1 if self.mode == "train" else self.test_views.count

    def __len__(self) -> int:
        return len(self.videos) * self.views_per_video

    def view_of(self, index: int) -> View:
        """The video, temporal clip and spatial crop that item `index` shows."""
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} outside a dataset of {len(self)}")
        video, view = divmod(index, self.views_per_video)
        return View(video, *divmod(view, self.test_views.crops if self.mode != "train" else 1))

    def set_epoch(self, epoch: int) -> None:
        """Draw other training clips; call before iterating (workers copy the dataset then)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        where = self.view_of(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        video = where.video
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._clip(video, where, rng), self.videos.label(video), video
            except READ_ERRORS as error:
                self._record(video, error)
                video = int(rng.integers(len(self.videos)))
        raise DataError(f"no readable video found for item {index} in {MAX_ATTEMPTS} attempts")

    def _clip(self, video: int, where: View, rng: np.random.Generator) -> torch.Tensor:
        if self.mode == "train":
            with self.videos.open(video) as source:
                return clips.train_clip(source, self.view, rng, self.fps)
        key = (video, where.clip)
        if self._last_views is None or self._last_views[0] != key:
            with self.videos.open(video) as source:
                views = clips.test_clips(source, self.view, self.test_views, where.clip, self.fps)
            self._last_views = (key, views)
        return self._last_views[1][where.crop]

    def _record(self, video: int, error: BaseException) -> None:
        self._ledger.record(video)
        if video not in self._warned:
            self._warned.add(video)
            warnings.warn(
                f"unreadable video replaced: {why_unreadable(self.videos.name(video), error)}",
                UnreadableVideoWarning,
                stacklevel=3,
            )
        failed = self.failures()
        if len(failed) > self.max_bad_share * len(self.videos):
            raise too_many_unreadable(failed, len(self.videos), self.max_bad_share)

    def failures(self) -> list[str]:
        """Names of the videos that failed to load so far, in any process."""
        return [self.videos.name(i) for i in self._ledger.failed()]
