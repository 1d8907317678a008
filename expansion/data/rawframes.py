"""Videos stored as image files, one folder per video (mmaction2's raw-frame datasets).

Frame `i` (from 0) of a folder is the file `template.format(i + start_index)`: `img_00001.jpg`
onwards by default, as mmaction2 and its frame-extraction tools name them. Images (JPEG, PNG,
anything Pillow reads) decode to RGB and go through the same clip code as decoded video frames
(`expansion.data.clips`). A folder holds no frame rate: `RAW_FRAME_RATE` stands in for it, which
matters only when `data.fps` resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from expansion.data.clips import NothingToRelease
from expansion.data.errors import UnreadableVideo
from expansion.errors import ConfigError

RAW_FRAME_RATE = 30.0
DEFAULT_TEMPLATE = "img_{:05}.jpg"


@dataclass(frozen=True)
class FrameNaming:
    """How the image files of a frame folder are named: `template` formats the frame number."""

    template: str = DEFAULT_TEMPLATE
    start_index: int = 1

    def __post_init__(self) -> None:
        if self.start_index < 0:
            raise ConfigError(f"frame start_index must be 0 or more, got {self.start_index}")
        try:
            first = self.template.format(self.start_index)
        except (IndexError, KeyError, ValueError):
            first = self.template
        if first == self.template:
            raise ConfigError(
                f"filename template {self.template!r} does not format a frame number "
                f"(like {DEFAULT_TEMPLATE!r})"
            )

    def file_name(self, index: int) -> str:
        """The file of frame `index`, counted from 0."""
        return self.template.format(index + self.start_index)


MMACTION2_NAMING = FrameNaming()


class FrameFolder(NothingToRelease):
    """A folder of `num_frames` image files, read as a video (a `FrameSource`)."""

    def __init__(self, folder: str | Path, num_frames: int, naming: FrameNaming) -> None:
        self.path = Path(folder)
        if not self.path.is_dir():
            raise UnreadableVideo(f"{self.path}: no such frame folder")
        if num_frames < 1:
            raise UnreadableVideo(f"{self.path}: listed with {num_frames} frames")
        self.num_frames = num_frames
        self.naming = naming
        self.fps = RAW_FRAME_RATE

    def frames(self, indices: Sequence[int]) -> list[av.VideoFrame]:
        """The frames at `indices`, each decoded from its own file."""
        return [self._frame(index) for index in indices]

    def _frame(self, index: int) -> av.VideoFrame:
        path = self.path / self.naming.file_name(index)
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (SyntaxError, ValueError, Image.DecompressionBombError) as error:
            # Pillow's other complaints about a damaged file; a missing or truncated one is an
            # OSError, which the dataset already counts as unreadable.
            raise UnreadableVideo(f"{path}: {error}") from None
        return av.VideoFrame.from_ndarray(pixels, format="rgb24")
