"""The `scales` benchmark's cues, checked on rendered frames through the clip pipeline.

For every kind: the view of the intended path that first sees it shows its change plainly (a
blink, a flicker of fine stripes); views whose strides alias its period show none at all; one
crop smaller a flicker keeps under a fifth of its change (the Lanczos scaling drops what lies
beyond the scaled frame's resolution, `experiments/scales_cpu/v6_probes/`), two crops smaller
under a third (a little aliases back); the later views
of the path keep seeing it; a single frame never tells a pair apart.
"""

import itertools

import numpy as np
import pytest
import torch

from expansion.data import clips
from expansion.data.sampling import SINGLE_VIEW
from expansion.data.synthetic import SyntheticSpec, open_video, scales
from expansion.data.transforms import STD
from expansion.search.sizing import expand
from search_spaces.base import InputView
from search_spaces.x3d import X3D_SPACE

SPEC = SyntheticSpec(dataset="scales", num_videos=64)
View = tuple[int, float, int]


def centre_clip(label: int, view: View, video: int) -> torch.Tensor:
    """The centre test clip of `view` of a video of class `label`, `(3, T, H, W)` on [0, 1]
    around the mean."""
    source = open_video(SPEC, video * scales.NUM_CLASSES + label)
    frames, stride, crop = view
    return clips.test_clips(source, InputView(frames, stride, crop), SINGLE_VIEW, 0)[0] * STD


def visible_change(label: int, view: View, video: int) -> float:
    """The largest mean absolute change of the frame between two frames of the clip."""
    clip = centre_clip(label, view, video)
    pairs = itertools.combinations(range(clip.shape[1]), 2)
    return max(((clip[:, i] - clip[:, j]).abs().mean().item() for i, j in pairs), default=0.0)


# Each kind, the view of the intended path that first sees it, views whose strides alias its
# period (among them the other candidates of its step whose strides differ), and the same view
# one and two crops smaller.
CUES: list[tuple[int, View, list[View], tuple[View, View] | None]] = [
    (0, (2, 16, 112), [(2, 32, 112), (1, 32, 112)], None),
    (1, (4, 12, 112), [(4, 8, 112), (2, 16, 112), (2, 24, 112)], None),
    (2, (8, 9, 112), [(8, 6, 112), (4, 12, 112), (4, 12, 160)], None),
    (3, (8, 9, 160), [(8, 6, 160), (4, 12, 160), (4, 12, 224)], ((8, 9, 112), (8, 9, 80))),
    (4, (8, 9, 224), [(8, 6, 224), (4, 12, 224)], ((8, 9, 160), (8, 9, 112))),
    (5, (8, 9, 312), [(8, 6, 312), (4, 12, 312)], ((8, 9, 224), (8, 9, 160))),
    (6, (8, 9, 312), [(8, 6, 312), (4, 12, 312)], ((8, 9, 224), (8, 9, 160))),
    (7, (8, 9, 448), [(8, 6, 448), (4, 12, 448)], ((8, 9, 312), (8, 9, 224))),
    (8, (16, 6.75, 448), [(8, 9, 448), (8, 9, 312)], ((16, 6.75, 312), (16, 6.75, 224))),
]
PATH = list(dict.fromkeys(view for _, view, _, _ in CUES))  # each step's view, in order
INTENDED_AXES = ["frame_rate", "temporal", "temporal", *["spatial"] * 4, "temporal"]


def test_the_views_are_those_the_search_builds_along_the_intended_path() -> None:
    """Each step's view is the model the search proposes on the intended path (2× a step,
    the benchmark's classes), and each flicker is made for exactly its view's crop."""
    config = X3D_SPACE.seed
    for view, axis in zip(PATH, INTENDED_AXES, strict=True):
        config = expand(X3D_SPACE, config, axis, 2.0, scales.NUM_CLASSES)
        assert (config.frames, config.stride, config.crop) == view, axis
    for kind, seen, _, _ in CUES:
        if scales.CUES[kind].crop is not None:
            assert scales.CUES[kind].crop == seen[2], kind


@pytest.mark.parametrize(("kind", "seen", "aliased", "smaller"), CUES)
def test_each_kind_is_seen_by_its_view_and_not_by_views_that_alias_it(
    kind: int, seen: View, aliased: list[View], smaller: tuple[View, View] | None
) -> None:
    changes, still = 2 * kind, 2 * kind + 1
    for video in range(2):
        plain = visible_change(changes, seen, video)
        assert plain > (0.4 if smaller is None else 0.15)
        assert visible_change(still, seen, video) == 0  # still: never changes
        for view in aliased:
            assert visible_change(changes, view, video) < 1e-6, view
        if smaller is not None:
            one, two = (visible_change(changes, view, video) for view in smaller)
            assert one < plain / 5, (smaller[0], one, plain)
            assert two < plain / 3, (smaller[1], two, plain)  # aliased back, a little


def switching_share(label: int, view: View, video: int) -> float:
    """The share of the clip's consecutive frame pairs between which the frame changes."""
    clip = centre_clip(label, view, video)
    changes = (clip[:, 1:] - clip[:, :-1]).abs().mean(dim=(0, 2, 3))
    return (changes > 0.02).float().mean().item()


@pytest.mark.parametrize("kind", range(len(CUES)))
def test_later_views_of_the_path_keep_seeing_each_kind(kind: int) -> None:
    """A blink is learnt from one change per clip (`experiments/scales_cpu/README.md`); a
    flicker only when most frame pairs show it (`stripe_probes/`)."""
    seen = CUES[kind][1]
    first = visible_change(2 * kind, seen, 0)
    for view in PATH[PATH.index(seen) + 1 :]:
        assert visible_change(2 * kind, view, 0) > 0.5 * first, view
        if scales.CUES[kind].crop is not None:
            assert switching_share(2 * kind, view, 0) >= 0.5, view


def test_a_single_frame_never_tells_a_pair_apart() -> None:
    """Both looks of every kind appear at frame 0 in both classes of its pair."""
    for kind in range(len(scales.CUES)):
        first_looks = [
            {
                open_video(SPEC, video * scales.NUM_CLASSES + label).schedule[0]
                for video in range(24)
            }
            for label in (2 * kind, 2 * kind + 1)
        ]
        assert first_looks == [{0, 1}, {0, 1}]


@pytest.mark.parametrize(("split", "count"), [("train", 360), ("val", 270)])
def test_each_still_class_shows_its_two_looks_equally_often(split: str, count: int) -> None:
    """In the benchmark's splits (within one video): a trial that tells a still class by one
    look's brightness is right on half of it in training and in validation alike."""
    spec = SyntheticSpec(dataset="scales", split=split, num_videos=count)
    for label in range(1, scales.NUM_CLASSES, 2):
        videos = range(label, count, scales.NUM_CLASSES)
        looks = [int(open_video(spec, video).schedule[0]) for video in videos]
        assert abs(2 * sum(looks) - len(looks)) <= 1, (label, looks)


def stripes_contrast(label: int, view: View, video: int) -> float:
    """The largest standard deviation over the first frame of the clip, over its channels."""
    return centre_clip(label, view, video)[:, 0].std(dim=(1, 2)).max().item()


def test_crop_312s_two_kinds_look_alike_one_crop_smaller() -> None:
    """Kinds 5 and 6 (vertical and horizontal stripes, one hue): at crop 312 each still
    video shows its stripes plainly; at 224 both are about flat and of one mean colour."""
    vertical, horizontal = 2 * 5 + 1, 2 * 6 + 1  # the still classes
    for video in range(2):
        plain = [stripes_contrast(label, (8, 9, 312), video) for label in (vertical, horizontal)]
        small = [stripes_contrast(label, (8, 9, 224), video) for label in (vertical, horizontal)]
        assert min(plain) > 0.1, plain
        assert max(small) < min(plain) / 5, (small, plain)
        means = [
            centre_clip(label, (8, 9, 224), video).mean(dim=(1, 2, 3))
            for label in (vertical, horizontal)
        ]
        assert (means[0] - means[1]).abs().max() < 0.01


def test_a_flicker_is_the_same_stripes_reversed() -> None:
    """The two looks of a flicker average to the stripes' mean colour everywhere, and each
    shows the full texture."""
    for kind, cue in enumerate(scales.CUES):
        if cue.crop is None:
            continue
        video = open_video(SPEC, 2 * kind)
        looks = [video.base(int(np.flatnonzero(video.schedule == look)[0])) for look in (0, 1)]
        first, second = (look.astype(np.float32) for look in looks)
        assert np.ptp((first + second) / 2, axis=(0, 1)).max() <= 1  # flat up to rounding
        assert first.std(axis=(0, 1)).max() > 30 and second.std(axis=(0, 1)).max() > 30
