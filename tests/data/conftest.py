"""Fixtures for the data tests: index videos written into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from index_videos import encode_video


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Write an index video `name` of `num_frames` frames into a temporary folder."""

    def make(name: str, num_frames: int, **options: object) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return encode_video(path, num_frames, **options)  # type: ignore[arg-type]

    return make
