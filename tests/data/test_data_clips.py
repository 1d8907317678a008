"""Clips decoded from real H.264 files hold exactly the frames the sampling asks for."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from index_videos import frame_indices, grey

from expansion.data import FolderSource, TestViews, View, build_dataset, sampling
from expansion.data.catalog import VideoEntry, VideoFiles
from expansion.data.datasets import ClipDataset
from search_spaces.base import InputView

# crop 32: short side 36 at test time (128γs, rounded down), [36, 45] in training
VIEW = InputView(frames=4, stride=5, crop=32)


def single(path: Path, **options: object) -> VideoFiles:
    return VideoFiles([VideoEntry(str(path), 0)], num_classes=1, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("stride", [1, 3, 1.5, 2.5])
def test_train_windows_are_stride_patterns_inside_the_video(
    make_video: Callable[..., Path], stride: float
) -> None:
    videos = single(make_video("a.mp4", 60))
    dataset = ClipDataset(videos, InputView(6, stride, 32), "train", seed=1)
    starts = set()
    for epoch in range(8):
        dataset.set_epoch(epoch)
        clip, label, video = dataset[0]
        assert clip.shape == (3, 6, 32, 32) and clip.dtype == torch.float32
        assert (label, video) == (0, 0)
        indices = frame_indices(clip)
        start = indices[0]
        assert indices == sampling.window(start, 6, stride, 60)
        assert start >= 0 and indices[-1] <= 59
        starts.add(start)
    assert len(starts) > 1  # the window moves between epochs


def test_train_clips_depend_only_on_seed_epoch_and_index(make_video: Callable[..., Path]) -> None:
    videos = single(make_video("a.mp4", 60))
    first = ClipDataset(videos, VIEW, seed=3)[0][0]
    assert torch.equal(first, ClipDataset(videos, VIEW, seed=3)[0][0])
    assert not torch.equal(first, ClipDataset(videos, VIEW, seed=4)[0][0])


def test_short_video_repeats_its_last_frame(make_video: Callable[..., Path]) -> None:
    videos = single(make_video("short.mp4", 10))
    clip = ClipDataset(videos, InputView(6, 3, 32), "train")[0][0]
    assert frame_indices(clip) == [0, 3, 6, 9, 9, 9]


@pytest.mark.parametrize("seek", [True, False])
@pytest.mark.parametrize("gop", [None, 4])
def test_k_center_views_take_evenly_spaced_windows(
    make_video: Callable[..., Path], seek: bool, gop: int | None
) -> None:
    videos = single(make_video("a.mp4", 61, gop=gop), seek=seek)
    dataset = ClipDataset(videos, InputView(4, 2.5, 32), "test", test_views=TestViews(5, 1))
    assert len(dataset) == 5
    for k in range(5):
        clip, _, video = dataset[k]
        assert dataset.view_of(k).clip == k and video == 0
        assert clip.shape == (3, 4, 32, 32)
        start = 52.5 * (k + 0.5) / 5  # the last start that fits is 60 - 3 * 2.5
        assert frame_indices(clip) == sampling.window(start, 4, 2.5, 61)


def test_thirty_view_protocol_positions_and_sizes(make_video: Callable[..., Path]) -> None:
    # A 96x64 ramp (grey 16 + 2x at column x); crop 56 -> short side 128γs = 64, no scaling.
    ramp = single(make_video("ramp.mp4", 40, width=96, height=64, ramp=True))
    dataset = ClipDataset(ramp, InputView(4, 5, 56), "test", test_views=TestViews.parse("10x3"))
    assert len(dataset) == 30
    assert [dataset.view_of(i) for i in (0, 2, 3, 29)] == [
        View(0, c, s) for c, s in ((0, 0), (0, 2), (1, 0), (9, 2))
    ]
    lefts = []
    for crop in range(3):
        clip = dataset[crop][0]
        assert clip.shape == (3, 4, 64, 64)
        lefts.append((float(grey(clip)[:, :, :, 0].mean()) - 16) / 2)
    assert lefts == pytest.approx([0, 16, 32], abs=1.0)  # left, centre, right along the width
    centre = ClipDataset(ramp, InputView(4, 5, 56), "test")[0][0]
    assert centre.shape == (3, 4, 56, 56)
    assert (float(grey(centre)[:, :, :, 0].mean()) - 16) / 2 == pytest.approx(20, abs=1.0)


def test_thirty_view_temporal_positions(make_video: Callable[..., Path]) -> None:
    videos = single(make_video("a.mp4", 61))
    dataset = ClipDataset(videos, VIEW, "test", test_views=TestViews(10, 3))
    for index in range(0, 30, 4):
        where = dataset.view_of(index)
        clip = dataset[index][0]
        assert clip.shape == (3, 4, 36, 36)  # crops of 128γs = floor(128 · 32 / 112)
        start = sampling.test_starts(61, 4, 5, 10)[where.clip]
        assert frame_indices(clip) == sampling.window(start, 4, 5, 61)


def test_fps_resamples_by_time(make_video: Callable[..., Path]) -> None:
    videos = single(make_video("fast.mp4", 60, fps=60))
    dataset = ClipDataset(videos, InputView(4, 2, 32), "test", fps=30)
    start = sampling.test_starts(30, 4, 2, 1)[0]  # 60 frames at 60 fps are 30 at 30 fps
    expected = [2 * i for i in sampling.window(start, 4, 2, 30)]
    assert frame_indices(dataset[0][0]) == expected


def test_folder_layout_loads(make_video: Callable[..., Path], tmp_path: Path) -> None:
    make_video("root/walk/b.mp4", 20)
    make_video("root/walk/a.mp4", 20)
    make_video("root/jump/c.mp4", 20)
    (tmp_path / "root" / "jump" / "notes.txt").write_text("not a video")
    dataset = build_dataset(FolderSource(tmp_path / "root"), VIEW, "test")
    assert dataset.num_classes == 2 and len(dataset) == 3
    assert [dataset[i][1] for i in range(3)] == [0, 1, 1]  # jump, walk, walk (sorted)
