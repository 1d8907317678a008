"""Frames of a video file read with PyAV, decoding only the stretch a clip needs.

Frame `i` is the `i`-th frame in presentation order, computed from its timestamp as
`round((pts - start) · time_base · fps)`. To read frames `a..b` the reader seeks to the last
keyframe at or before `a` and decodes forward until `b`; where a frame is missing (variable frame
rate, dropped frames) the frame shown at that time, the latest earlier one, stands in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av

from expansion.data.errors import UnreadableVideo

# Errors that mean "this file cannot be read", as opposed to bugs in the pipeline.
READ_ERRORS = (av.FFmpegError, OSError, EOFError, UnreadableVideo)


class VideoFile(AbstractContextManager["VideoFile"]):
    """An open video file: its frame count, frame rate and frames at given indices.

    With `seek=False` every read decodes from the start of the file (for benchmarks).
    """

    def __init__(self, path: str | Path, *, seek: bool = True) -> None:
        self.path = str(path)
        self._seek = seek
        self._container = av.open(self.path)
        try:
            if not self._container.streams.video:
                raise UnreadableVideo(f"{self.path}: no video stream")
            self._stream = self._container.streams.video[0]
            rate = self._stream.average_rate or self._stream.guessed_rate
            if not rate:
                raise UnreadableVideo(f"{self.path}: unknown frame rate")
            self.fps = float(rate)
            self._time_base: Fraction = self._stream.time_base
            self._start = self._stream.start_time or 0
            self.num_frames = self._count_frames()
        except BaseException:
            self._container.close()
            raise

    def _count_frames(self) -> int:
        if self._stream.frames > 0:
            return self._stream.frames
        if self._stream.duration is not None:
            seconds = float(self._stream.duration * self._time_base)
        elif self._container.duration is not None:
            seconds = self._container.duration / av.time_base
        else:
            raise UnreadableVideo(f"{self.path}: unknown length")
        if seconds <= 0:
            raise UnreadableVideo(f"{self.path}: no frames")
        return max(1, round(seconds * self.fps))

    def _index(self, pts: int) -> int:
        return round(float((pts - self._start) * self._time_base) * self.fps)

    def frames(self, indices: Sequence[int]) -> list[av.VideoFrame]:
        """The frames at strictly increasing `indices`.

        If the file ends early the last decoded frame repeats, unless it ends more than a second
        before the last index, which means the file is truncated.
        """
        return self._decode(indices, from_start=not self._seek)

    def _decode(self, indices: Sequence[int], *, from_start: bool) -> list[av.VideoFrame]:
        first = indices[0]
        target = 0 if from_start else max(math.floor((first - 0.5) / self.fps / self._time_base), 0)
        self._container.seek(self._start + target, stream=self._stream, backward=True)
        found: list[av.VideoFrame] = []
        previous: av.VideoFrame | None = None
        index = -1
        for frame in self._container.decode(self._stream):
            index = self._index(frame.pts) if frame.pts is not None else index + 1
            if previous is None and index > first:
                if target > 0:  # the seek landed after the first wanted frame
                    return self._decode(indices, from_start=True)
                previous = frame  # the stream starts late: its first frame stands in
            while len(found) < len(indices) and index > indices[len(found)]:
                found.append(previous)
            if len(found) < len(indices) and index == indices[len(found)]:
                found.append(frame)
            if len(found) == len(indices):
                return found
            previous = frame
        if previous is None:
            raise UnreadableVideo(f"{self.path}: no frame could be decoded")
        if index < indices[-1] - self.fps:
            raise UnreadableVideo(
                f"{self.path}: ends at frame {index} of {self.num_frames} (truncated?)"
            )
        return found + [previous] * (len(indices) - len(found))

    def close(self) -> None:
        self._container.close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
