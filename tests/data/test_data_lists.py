"""mmaction2's list formats, frame folders and label maps: read, checked, sampled like videos."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from index_videos import frame_indices
from PIL import Image

from expansion.data import DataConfig, DataError, ListFileSource, SyntheticSpec, build_dataset
from expansion.data.build import collection
from expansion.data.label_map import read_label_map
from expansion.data.lists import read_list
from expansion.data.rawframes import MMACTION2_NAMING, FrameNaming
from expansion.data.sampling import TestViews
from expansion.data.synthetic import open_video
from expansion.errors import ConfigError
from search_spaces.base import InputView

VIEW = InputView(frames=4, stride=3, crop=32)


def write(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def frame_folder(
    folder: Path, images: Sequence[np.ndarray], naming: FrameNaming = MMACTION2_NAMING
) -> Path:
    """`images` written as files `naming` names (format from the suffix: JPEG, PNG)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / naming.file_name(index))
    return folder


def index_frames(count: int) -> list[np.ndarray]:
    """Frames whose flat grey level `8 + 4 i` gives their index (as `index_videos` encodes)."""
    return [np.full((48, 64, 3), 8 + 4 * i, np.uint8) for i in range(count)]


def names(source: ListFileSource) -> list[tuple[str, int, int | None]]:
    """Each entry's path relative to the root, label and frame count."""
    videos = collection(source)
    return [(str(Path(e.path).relative_to(source.root)), e.label, e.frames) for e in videos.entries]


def test_each_format_is_read_and_detected(tmp_path: Path) -> None:
    video = write(tmp_path / "video.txt", ["k400/a.mp4 3", "k400/b b.mp4 0"])
    rawframes = write(tmp_path / "rawframes.txt", ["rawframes/a 300 3", "rawframes/b 250 0"])
    for path in ("videos/a.mp4", "videos/c.mkv"):
        write(tmp_path / path, [])
    frame_folder(tmp_path / "videos" / "b", index_frames(1))
    ids = write(tmp_path / "ids.txt", ["a, 300, 3", "b, 250, 0", "c, 10, 1", "gone, 9, 2"])

    def read(list_file: Path, list_format: str = "auto") -> list:
        source = ListFileSource(list_file, tmp_path, 400, list_format)  # type: ignore[arg-type]
        return names(source)

    assert (
        read(video) == read(video, "video") == [("k400/a.mp4", 3, None), ("k400/b b.mp4", 0, None)]
    )
    assert (
        read(rawframes)
        == read(rawframes, "rawframes")
        == [
            ("rawframes/a", 3, 300),
            ("rawframes/b", 0, 250),
        ]
    )
    # An id names a video file, or a frame folder; one found nowhere stays an unreadable path.
    assert (
        read(ids)
        == read(ids, "ids")
        == [
            ("videos/a.mp4", 3, None),
            ("videos/b", 0, 250),
            ("videos/c.mkv", 1, None),
            ("gone", 2, None),
        ]
    )


def test_ids_are_found_directly_under_the_root_or_one_class_folder_down(tmp_path: Path) -> None:
    write(tmp_path / "flat" / "a.mp4", [])
    frame_folder(tmp_path / "flat" / "b", index_frames(1))
    write(tmp_path / "flat" / "a", [])  # not a video: ignored
    write(tmp_path / "classes" / "abseiling" / "a.webm", [])
    frame_folder(tmp_path / "classes" / "zumba" / "b", index_frames(1))
    ids = write(tmp_path / "ids.txt", ["a, 300, 0", "b, 250, 1", "gone, 9, 0"])

    flat = names(ListFileSource(ids, tmp_path / "flat"))
    nested = names(ListFileSource(ids, tmp_path / "classes"))

    assert flat == [("a.mp4", 0, None), ("b", 1, 250), ("gone", 0, None)]
    assert nested == [("abseiling/a.webm", 0, None), ("zumba/b", 1, 250), ("gone", 0, None)]


def test_an_id_in_two_class_folders_is_refused(tmp_path: Path) -> None:
    for folder in ("abseiling", "zumba"):
        write(tmp_path / "videos" / folder / "a.mp4", [])
    ids = write(tmp_path / "ids.txt", ["a, 300, 0"])

    with pytest.raises(DataError, match=r"ids.txt:1: id 'a' names both .*abseiling/a.mp4, .*"):
        collection(ListFileSource(ids, tmp_path / "videos"))


@pytest.mark.parametrize(
    ("lines", "list_format", "message"),
    [
        (["a 30 1", "b 30"], "auto", "list.txt:2: expected 'frame_dir total_frames label' "),
        (["a 30 1", "b x 1"], "auto", "list.txt:2: expected 'frame_dir total_frames label' "),
        (["a, 30, 1", "", "b, 30, 1, 2"], "auto", "list.txt:3: expected 'video_id, num_frames, "),
        (["a, 30, 1", "b 30 1"], "auto", "list.txt:2: expected 'video_id, num_frames, label_index"),
        (["a.mp4 1", "b.mp4 one"], "auto", "list.txt:2: expected 'path label' (video list)"),
        (["a 30 1"], "ids", "list.txt:1: expected 'video_id, num_frames, label_index' (ids list)"),
        (["a.mp4"], "auto", "list.txt:1: fits no list format ('video_id, num_frames, label_"),
        (["a -3 1"], "rawframes", "list.txt:1: expected 'frame_dir total_frames label'"),
    ],
    ids=["short", "count", "commas", "mixed", "label", "named", "none", "negative"],
)
def test_a_line_that_does_not_fit_names_file_and_line(
    tmp_path: Path, lines: list[str], list_format: str, message: str
) -> None:
    list_file = write(tmp_path / "list.txt", lines)

    with pytest.raises(DataError) as caught:
        read_list(list_file, tmp_path, 400, list_format)  # type: ignore[arg-type]

    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(list_file))


def test_frame_folders_are_sampled_like_the_same_video(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    make_video("videos/v.mp4", 30)
    frame_folder(tmp_path / "frames" / "v", index_frames(30))
    sources = [
        ListFileSource(write(tmp_path / "v.txt", ["videos/v.mp4 0"]), tmp_path),
        ListFileSource(write(tmp_path / "f.txt", ["frames/v 30 0"]), tmp_path),
    ]
    videos, frames = (build_dataset(source, VIEW, seed=3) for source in sources)
    for epoch in range(3):
        videos.set_epoch(epoch)
        frames.set_epoch(epoch)
        assert frame_indices(frames[0][0]) == frame_indices(videos[0][0])

    test_views = TestViews(clips=3)
    videos, frames = (build_dataset(s, VIEW, "test", test_views=test_views) for s in sources)
    expected = [frame_indices(videos[i][0]) for i in range(3)]
    assert [frame_indices(frames[i][0]) for i in range(3)] == expected
    assert len({tuple(indices) for indices in expected}) == 3


def write_lossless_video(path: Path, images: Sequence[np.ndarray], fps: float) -> Path:
    """FFV1 in RGB: decodes to exactly `images`."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=Fraction(fps).limit_denominator(1001))
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "bgr0"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_lossless_frames_give_the_clips_of_the_video(tmp_path: Path) -> None:
    spec = SyntheticSpec(split="val", num_videos=1, height=64, width=80, num_frames=24)
    video = open_video(spec, 0)
    images = [video.render(t) for t in range(spec.num_frames)]
    naming = FrameNaming("frame_{:04}.png", start_index=0)
    frame_folder(tmp_path / "frames" / "clip", images, naming)
    write_lossless_video(tmp_path / "clip.mkv", images, spec.fps)
    view = InputView(frames=4, stride=5, crop=48)
    views = TestViews(clips=2, crops=3)

    from_video = build_dataset(
        ListFileSource(write(tmp_path / "v.txt", ["clip.mkv 0"]), tmp_path),
        view,
        "test",
        test_views=views,
    )
    from_frames = build_dataset(
        ListFileSource(write(tmp_path / "f.txt", ["frames/clip 24 0"]), tmp_path, naming=naming),
        view,
        "test",
        test_views=views,
    )

    assert len(from_frames) == len(from_video) == 6
    for index in range(6):
        torch.testing.assert_close(from_frames[index][0], from_video[index][0])


def test_a_missing_frame_makes_the_folder_unreadable(tmp_path: Path) -> None:
    frame_folder(tmp_path / "frames" / "short", index_frames(5))
    frame_folder(tmp_path / "frames" / "whole", index_frames(30))
    list_file = write(tmp_path / "f.txt", ["frames/short 30 0", "frames/whole 30 1"])
    videos = collection(ListFileSource(list_file, tmp_path))

    with videos.open(1) as source:
        assert len(source.frames([0, 29])) == 2
    with videos.open(0) as source, pytest.raises(FileNotFoundError, match=r"img_00030\.jpg"):
        source.frames([29])


@pytest.mark.parametrize("template", ["frame.jpg", "img_{name}.jpg", "img_{:05"])
def test_a_template_without_a_frame_number_is_refused(template: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"filename template {template!r} does not")):
        FrameNaming(template)


@pytest.mark.parametrize(
    "text",
    [
        "air drumming 1\nabseiling 0\nzumba 2\n",  # kinetics_class2ind.txt
        "abseiling,0\nair drumming,1\nzumba,2\n",
        "0 abseiling\n1 air drumming\n\n2 zumba\n",
        "abseiling\nair drumming\nzumba\n",  # one name per line
    ],
    ids=["name-index", "comma", "index-name", "plain"],
)
def test_label_maps_name_the_classes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_text(text)

    assert read_label_map(path, 3) == ("abseiling", "air drumming", "zumba")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a 0\nb 0\n", r"labels.txt:2: index 0 named twice"),
        ("a 0\nb 2\n", r"has no name for index 1"),
        ("a\nb\n", r"names 2 classes, the data has 3"),
    ],
)
def test_bad_label_maps_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_text(text)

    with pytest.raises(DataError, match=message):
        read_label_map(path, 3)


def test_the_data_group_reads_format_naming_and_label_map(tmp_path: Path) -> None:
    write(tmp_path / "val.txt", ["a, 30, 0"])
    write(tmp_path / "labels.txt", ["cat 1", "dog 0"])
    data = {
        "name": "kinetics",
        "root": str(tmp_path),
        "train_list": str(tmp_path / "val.txt"),
        "val_list": str(tmp_path / "val.txt"),
        "num_classes": 2,
        "list_format": "ids",
        "filename_tmpl": "{:06}.png",
        "start_index": 0,
        "label_map": str(tmp_path / "labels.txt"),
    }

    config = DataConfig.from_mapping(data)

    assert config.val == ListFileSource(
        tmp_path / "val.txt", tmp_path, 2, "ids", FrameNaming("{:06}.png", 0)
    )
    assert config.class_names == ("dog", "cat")
    with pytest.raises(ConfigError, match=r"data\.list_format: expected one of auto, video"):
        DataConfig.from_mapping(data | {"list_format": "csv"})
