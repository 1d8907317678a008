"""The built-in synthetic datasets: determinism, geometry, the `blinks` cues, and the exporter."""

import re
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from expansion.data import ListFileSource, SyntheticSpec, build_dataset
from expansion.data.export import main
from expansion.data.synthetic import BlinkVideo
from expansion.data.synthetic.blinks import CLASSES
from expansion.errors import ConfigError
from search_spaces.base import InputView

VIEW = InputView(frames=4, stride=5, crop=64)
SMALL = SyntheticSpec(num_videos=12, height=64, width=96, num_frames=40)
BLINKS = SyntheticSpec(dataset="blinks", clutter=0)


def test_same_seed_same_data_other_seed_other_data() -> None:
    # video 7: stripes (random phase) still; a blink's frame is one of two colours
    clips = [build_dataset(SyntheticSpec(num_videos=12), VIEW)[7][0] for _ in range(2)]
    assert torch.equal(*clips)
    other = build_dataset(SyntheticSpec(seed=1, num_videos=12), VIEW)[7][0]
    assert not torch.equal(clips[0], other)
    val = build_dataset(SyntheticSpec(split="val", num_videos=12), VIEW)[7][0]
    assert not torch.equal(clips[0], val)


@pytest.mark.parametrize(
    ("dataset", "size", "length", "classes"),
    [("scales", (640, 640), 180, 18), ("blinks", (256, 340), 120, 6)],
)
def test_geometry_labels_and_clip_shape(
    dataset: str, size: tuple[int, int], length: int, classes: int
) -> None:
    spec = SyntheticSpec(num_videos=24, dataset=dataset)
    assert (spec.height, spec.width, spec.num_frames) == (*size, length)
    data = build_dataset(spec, InputView(16, 5, 224))
    assert data.num_classes == classes
    clip, label, video = data[13]
    assert clip.shape == (3, 16, 224, 224) and (label, video) == (13 % classes, 13)
    frame = data.videos.open(0).render(0)
    assert frame.shape == (*size, 3) and frame.dtype == np.uint8


def test_an_unknown_dataset_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown synthetic dataset 'scale': scales, blinks"):
        SyntheticSpec(dataset="scale")


def _square_brightness(video: BlinkVideo, frames: list[int]) -> list[float]:
    """Mean brightness of the centre of the blinking square at `frames`."""
    return [float(video.render(t)[118:138, 160:180].mean()) for t in frames]


def test_a_pair_shares_its_tint_and_only_the_blink_tells_it_apart() -> None:
    spec = BLINKS
    assert [c.period for c in CLASSES] == [32, 32, 8, 8, 2, 2]
    for pair, period in enumerate((32, 8, 2)):
        blinking, steady = (BlinkVideo(spec, 2 * pair + second) for second in (0, 1))
        tints = [video._grid.mean(axis=(0, 1)) for video in (blinking, steady)]
        assert np.abs(tints[0] - tints[1]).max() < 31  # the same tint, give or take its noise
        levels = _square_brightness(blinking, list(range(2 * period)))
        assert max(levels) > 2 * min(levels)  # bright half the period, dim the other
        assert len(set(np.round(_square_brightness(steady, list(range(2 * period)))))) == 1


def test_frames_a_period_apart_alias_and_half_a_period_apart_see_the_blink() -> None:
    blinking = BlinkVideo(BLINKS, 0)  # period 32
    for start in range(0, 40, 3):
        aliased = _square_brightness(blinking, [start, start + 32])
        seen = _square_brightness(blinking, [start, start + 16])
        assert aliased[0] == aliased[1]
        assert abs(seen[0] - seen[1]) > 50
    period_two = BlinkVideo(BLINKS, 4)
    even = _square_brightness(period_two, [10, 16, 22])
    odd = _square_brightness(period_two, [10, 19])
    assert len(set(even)) == 1 and odd[0] != odd[1]


def test_steady_squares_are_bright_or_dim_like_single_frames_of_blinking_ones() -> None:
    spec = SyntheticSpec(dataset="blinks", num_videos=240, clutter=0)
    steady = {round(_square_brightness(BlinkVideo(spec, i), [0])[0], -1) for i in range(1, 60, 2)}
    blinking = {round(_square_brightness(BlinkVideo(spec, i), [0])[0], -1) for i in range(0, 60, 2)}
    assert len(steady) > 1 and len(blinking) > 1  # both levels appear in both classes
    assert max(steady) > 2 * min(steady)


def test_export_writes_h264_files_and_readable_list_files(tmp_path: Path) -> None:
    counts = ["--num-train", "2", "--num-val", "1", "--jobs", "1"]
    main(["--out", str(tmp_path), "--dataset", "blinks", *counts])
    with av.open(str(tmp_path / "train" / "000001.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.frames == 120
        assert (stream.width, stream.height) == (340, 256)
    assert (tmp_path / "val.csv").read_text() == "val/000000.mp4 0\n"
    dataset = build_dataset(ListFileSource(tmp_path / "train.csv", tmp_path, 6), VIEW)
    assert [dataset[i][1] for i in range(2)] == [0, 1]
    assert dataset.failures() == []


@pytest.mark.parametrize(
    ("out", "counts", "problem"),
    [
        ("out", (0, 0), "--num-train and --num-val are both 0: nothing to export"),
        ("out", (-1, 1), "--num-train -1: a number of videos cannot be negative"),
        ("out", (1, -2), "--num-val -2: a number of videos cannot be negative"),
        ("file.txt", (1, 1), r"--out \S*file.txt: cannot create the folder \(File exists\)"),
    ],
)
def test_export_errors_are_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    out: str,
    counts: tuple[int, int],
    problem: str,
) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    sizes = ["--num-train", str(counts[0]), "--num-val", str(counts[1])]
    with pytest.raises(SystemExit) as exit:
        main(["--out", str(tmp_path / out), "--jobs", "1", *sizes])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"python -m expansion.data.synthetic: error: {problem}\n", err)
    assert not (tmp_path / "out").exists()


def test_export_of_one_empty_split_writes_only_the_other(tmp_path: Path) -> None:
    main(["--out", str(tmp_path), "--num-train", "0", "--num-val", "1", "--jobs", "1"])
    assert (tmp_path / "val.csv").read_text() == "val/000000.mp4 0\n"
    assert not (tmp_path / "train.csv").exists()
