"""The `scales` benchmark's cues, checked on rendered frames through the clip pipeline.

For every carrier: the view of the intended path that first sees it shows its cue plainly (a
square's blink, the stripes); views whose frames alias the blink or do not reach the stripes
show none at all; stripes keep a fifth to two fifths of their texture one crop smaller (the
bilinear scaling's soft roll-off) and about 1 % two crops smaller (up to a tenth where they
alias).
"""

import itertools

import numpy as np
import pytest
import torch

from expansion.data import clips
from expansion.data.sampling import SINGLE_VIEW
from expansion.data.synthetic import SyntheticSpec, open_video, scales
from expansion.data.transforms import STD, short_side_scale
from search_spaces.base import InputView

SPEC = SyntheticSpec(dataset="scales", num_videos=64, clutter=0)
View = tuple[int, float, int]


def carrier_clip(label: int, view: View, video: int) -> torch.Tensor:
    """The inner 60 % of the carrier in the centre test clip of `view`, `(3, T, h, w)` on
    [0, 1] around the mean."""
    source = open_video(SPEC, video * scales.NUM_CLASSES + label)
    frames, stride, crop = view
    clip = clips.test_clips(source, InputView(frames, stride, crop), SINGLE_VIEW, 0)[0] * STD
    short = short_side_scale(crop, clips.TEST_SCALE)
    scale, offset = short / SPEC.height, (short - crop) // 2
    top, left, size = source.carrier_box

    def inner(start: int, share: float) -> int:
        return round((start + share * size) * scale) - offset

    return clip[:, :, inner(top, 0.2) : inner(top, 0.8), inner(left, 0.2) : inner(left, 0.8)]


def visible_change(label: int, view: View, video: int) -> float:
    """The largest mean absolute change of the carrier between two frames of the clip."""
    region = carrier_clip(label, view, video)
    pairs = itertools.combinations(range(region.shape[1]), 2)
    return max(((region[:, i] - region[:, j]).abs().mean().item() for i, j in pairs), default=0.0)


def texture(label: int, view: View, video: int) -> float:
    """The carrier's texture in the clip's most striped frame: the mean absolute difference of
    neighbouring pixels, down the rows and along them (0 for a flat patch)."""
    region = carrier_clip(label, view, video)
    down = region.diff(dim=2).abs().mean(dim=(0, 2, 3))
    along = region.diff(dim=3).abs().mean(dim=(0, 2, 3))
    return (down + along).max().item()


# The view of the path that first sees each blink, and views whose frames alias its period.
BLINKS: list[tuple[int, View, list[View]]] = [
    (0, (2, 16, 112), [(2, 32, 112), (1, 32, 112)]),
    (1, (4, 12, 112), [(4, 8, 112), (2, 16, 112)]),
]
# The view of the path that first sees each stripes carrier, the views one frame-rate step and
# one temporal step less (they do not reach it), and the same view one and two crops smaller.
STRIPES: list[tuple[int, View, list[View], list[View]]] = [
    (2, (4, 12, 160), [(4, 8, 160), (2, 16, 160)], [(4, 12, 112), (4, 12, 80)]),
    (3, (8, 9, 160), [(8, 6, 160), (4, 12, 160)], [(8, 9, 112), (8, 9, 80)]),
    (4, (8, 9, 224), [(8, 6, 224), (4, 12, 224)], [(8, 9, 160), (8, 9, 112)]),
    (5, (16, 6.75, 224), [(16, 4.5, 224), (8, 9, 224)], [(16, 6.75, 160), (16, 6.75, 112)]),
    (6, (16, 6.75, 320), [(16, 4.5, 320), (8, 9, 320)], [(16, 6.75, 224), (16, 6.75, 160)]),
    (7, (32, 5.0625, 320), [(32, 3.375, 320), (16, 6.75, 320)], [(32, 5.06, 224), (32, 5.06, 160)]),
]


@pytest.mark.parametrize(("carrier", "seen", "aliased"), BLINKS)
def test_each_blink_is_seen_by_its_view_and_not_by_views_that_alias_it(
    carrier: int, seen: View, aliased: list[View]
) -> None:
    blinks, stays = 2 * carrier, 2 * carrier + 1
    for video in range(3):
        assert visible_change(blinks, seen, video) > 0.12
        assert visible_change(stays, seen, video) == 0  # still: never changes
        for view in aliased:
            assert visible_change(blinks, view, video) < 1e-6, view


@pytest.mark.parametrize(("carrier", "seen", "short", "smaller"), STRIPES)
def test_each_stripes_carrier_is_seen_by_its_view_only(
    carrier: int, seen: View, short: list[View], smaller: list[View]
) -> None:
    striped, flat = 2 * carrier, 2 * carrier + 1
    for video in range(3):
        plain = texture(striped, seen, video)
        assert plain > 0.15
        assert texture(flat, seen, video) < 1e-6  # flat: never striped
        for view in short:  # the clip's frames all show the flat patch
            assert texture(striped, view, video) < 1e-6, view
        one, two = (texture(striped, view, video) for view in smaller)
        assert one < 0.45 * plain and two < 0.15 * plain, (one, two, plain)


def test_a_single_frame_never_tells_a_blink_from_a_still_square() -> None:
    """Both looks of every square appear at frame 0 in both classes of its pair."""
    for carrier, cue in enumerate(scales.CUES):
        if not isinstance(cue, scales.Blink):
            continue
        looks = {
            label: {
                open_video(SPEC, video * scales.NUM_CLASSES + label).schedule[0]
                for video in range(24)
            }
            for label in (2 * carrier, 2 * carrier + 1)
        }
        assert looks[2 * carrier] == looks[2 * carrier + 1] == {0, 1}


def test_the_middle_frame_shows_every_stripes_carrier_flat() -> None:
    """Stripes appear only far from the middle: a clip of one frame never tells the pair apart
    (and in every striped video, beyond its reach)."""
    middle = (SPEC.num_frames - 1) // 2
    for label, cue in enumerate(cue for cue in scales.CUES for _ in range(2)):
        if not isinstance(cue, scales.Stripes) or label % 2:
            continue
        video = open_video(SPEC, label)
        top, left, size = video.carrier_box
        patch = video.render(middle)[max(top, 0) : top + size, max(left, 0) : left + size]
        assert patch.astype(np.float32).mean(axis=2).std() < 1
        far = video.render(middle + cue.reach + 1)[max(top, 0) : top + size, max(left, 0) :]
        assert far[:size, :size].astype(np.float32).mean(axis=2).std() > 20
