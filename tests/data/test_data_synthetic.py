"""The built-in synthetic dataset: determinism, geometry, cues, and the exporter."""

from pathlib import Path

import av
import numpy as np
import torch

from expansion.data import CLASSES, ListFileSource, SyntheticSpec, build_dataset, transforms
from expansion.data.export import main
from expansion.data.synthetic import Sprite, SyntheticVideo, draw
from search_spaces.base import InputView

VIEW = InputView(frames=4, stride=5, crop=64)
SMALL = SyntheticSpec(num_videos=12, height=64, width=96, num_frames=40)


def test_same_seed_same_data_other_seed_other_data() -> None:
    clips = [build_dataset(SyntheticSpec(num_videos=12), VIEW)[5][0] for _ in range(2)]
    assert torch.equal(*clips)
    other = build_dataset(SyntheticSpec(seed=1, num_videos=12), VIEW)[5][0]
    assert not torch.equal(clips[0], other)
    val = build_dataset(SyntheticSpec(split="val", num_videos=12), VIEW)[5][0]
    assert not torch.equal(clips[0], val)


def test_geometry_labels_and_clip_shape() -> None:
    spec = SyntheticSpec(num_videos=24)
    assert spec.height >= 256 and spec.num_frames >= 80
    dataset = build_dataset(spec, InputView(16, 5, 224))
    assert dataset.num_classes == len(CLASSES) == 12
    clip, label, video = dataset[13]
    assert clip.shape == (3, 16, 224, 224) and (label, video) == (1, 13)
    frame = SyntheticVideo(spec, 0).render(0)
    assert frame.shape == (256, 340, 3) and frame.dtype == np.uint8


def test_flicker_classes_differ_at_stride_one_and_alias_at_even_strides() -> None:
    fast, slow = (SyntheticVideo(SyntheticSpec(clutter=0), label) for label in (2, 3))
    assert fast._sprites[0].flicker >= 0.3 and slow._sprites[0].flicker <= 0.2

    def brightness(flicker: float, phase: float, t: int) -> float:
        canvas = np.zeros((64, 64, 3), np.float32)
        draw(canvas, Sprite("square", 10, 32, 32, 0, 0, (1, 1, 1), 0.85, flicker, phase), t)
        return float(canvas.mean())

    # a fast flicker f and the slow one 0.5 - f (phase mirrored) coincide at every even frame
    samples = [[brightness(f, p, t) for t in range(12)] for f, p in ((0.42, 1.0), (0.08, -1.0))]
    assert np.allclose(samples[0][::2], samples[1][::2], atol=1e-6)
    assert np.abs(np.diff(samples[0])).mean() > 3 * np.abs(np.diff(samples[1])).mean()


def test_late_event_pair_is_identical_before_the_event() -> None:
    white, black = (SyntheticVideo(SyntheticSpec(clutter=0), label) for label in (6, 7))
    assert white._sprites[0].change_at >= 0.65 * 120 and black._sprites[0].change_at >= 0.65 * 120
    assert white.render(119).mean() > white.render(0).mean()  # the ring turned white
    assert black.render(119).mean() < black.render(0).mean()


def test_glyph_classes_differ_much_more_at_high_resolution() -> None:
    def tile(glyph: str, scale: float) -> np.ndarray:
        canvas = np.full((256, 340, 3), 0.4, np.float32)
        draw(canvas, Sprite("glyphs", 30, 170, 128, 0, 0, (0.45, 0.95, 0.45), glyph=glyph), 0)
        frame = av.VideoFrame.from_ndarray((canvas * 255).astype(np.uint8), format="rgb24")
        height, width = transforms.scaled_size(256, 340, round(256 * scale))
        image = transforms.to_rgb([frame], height, width)[0].astype(float)
        reach = round(20 * scale)
        return image[
            height // 2 - reach : height // 2 + reach, width // 2 - reach : width // 2 + reach
        ]

    def difference(scale: float) -> float:
        return float(np.abs(tile("plus", scale) - tile("cross", scale)).mean())

    assert difference(1.0) > 3 * difference(0.5)  # crop 224 against crop 112 at test scale
    assert difference(0.8) > 1.5 * difference(0.5)


def test_export_writes_h264_files_and_readable_list_files(tmp_path: Path) -> None:
    main(["--out", str(tmp_path), "--num-train", "2", "--num-val", "1", "--jobs", "1"])
    with av.open(str(tmp_path / "train" / "000001.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.frames == 120
        assert (stream.width, stream.height) == (340, 256)
    assert (tmp_path / "val.csv").read_text() == "val/000000.mp4 0\n"
    dataset = build_dataset(ListFileSource(tmp_path / "train.csv", tmp_path, 12), VIEW)
    assert [dataset[i][1] for i in range(2)] == [0, 1]
    assert dataset.failures() == []
