"""The `scales` benchmark's cues, checked on rendered frames through the clip pipeline.

For every carrier: the view of the intended path that first sees it shows its change plainly;
views whose frames alias its timing show no change at all; stripes keep about half their change
one crop smaller (the bilinear scaling's soft roll-off: a short trial does not learn that, see
conf/trial/short.yaml) and lose it two crops smaller.
"""

import itertools

import numpy as np
import pytest

from expansion.data import clips
from expansion.data.sampling import SINGLE_VIEW
from expansion.data.synthetic import SyntheticSpec, open_video, scales
from expansion.data.transforms import STD, short_side_scale
from search_spaces.base import InputView

SPEC = SyntheticSpec(dataset="scales", num_videos=64, clutter=0)


def visible_change(label: int, view: InputView, video: int) -> float:
    """The largest mean absolute change of the carrier's inner pixels between two frames of the
    centre test clip of `view`, on [0, 1] (0 for a single frame)."""
    source = open_video(SPEC, video * scales.NUM_CLASSES + label)
    clip = clips.test_clips(source, view, SINGLE_VIEW, 0)[0] * STD
    short = short_side_scale(view.crop, clips.TEST_SCALE)
    scale, offset = short / SPEC.height, (short - view.crop) // 2
    top, left, size = source.carrier_box

    def inner(start: int, share: float) -> int:
        return round((start + share * size) * scale) - offset

    region = clip[:, :, inner(top, 0.2) : inner(top, 0.8), inner(left, 0.2) : inner(left, 0.8)]
    pairs = itertools.combinations(range(view.frames), 2)
    return max(((region[:, i] - region[:, j]).abs().mean().item() for i, j in pairs), default=0.0)


View = tuple[int, float, int]
# (carrier, the view of the path that first sees it, views whose frames alias its timing, for
# stripes the same view one and two crops smaller)
CASES: list[tuple[int, View, list[View], list[View]]] = [
    (0, (2, 16, 112), [(2, 32, 112), (1, 32, 112)], []),
    (1, (4, 12, 112), [(4, 8, 112), (2, 16, 112)], []),
    (2, (4, 12, 160), [(4, 8, 160)], [(4, 12, 112), (4, 12, 80)]),
    (3, (8, 9, 160), [(8, 6, 160), (4, 12, 160)], [(8, 9, 112), (8, 9, 80)]),
    (4, (8, 9, 224), [(4, 12, 224), (8, 6, 224)], [(8, 9, 160), (8, 9, 112)]),
    (5, (16, 6.75, 224), [(16, 4.5, 224), (8, 9, 224)], [(16, 6.75, 160), (16, 6.75, 112)]),
    (6, (16, 6.75, 320), [(16, 4.5, 320), (8, 9, 320)], [(16, 6.75, 224), (16, 6.75, 160)]),
    (7, (32, 5.0625, 320), [(32, 3.375, 320), (16, 6.75, 320)], [(32, 5.06, 224), (32, 5.06, 160)]),
]


@pytest.mark.parametrize(("carrier", "seen", "aliased", "smaller"), CASES)
def test_each_carrier_is_seen_by_its_view_and_not_by_one_step_less(
    carrier: int, seen: View, aliased: list[View], smaller: list[View]
) -> None:
    changes, stays = 2 * carrier, 2 * carrier + 1
    for video in range(3):
        plain = visible_change(changes, InputView(*seen), video)
        assert plain > 0.12
        assert visible_change(stays, InputView(*seen), video) == 0  # still: never changes
        for view in aliased:
            assert visible_change(changes, InputView(*view), video) < 1e-6, view
        if smaller:
            one, two = (visible_change(changes, InputView(*view), video) for view in smaller)
            assert one < 0.85 * plain and two < 0.3 * plain


def test_a_single_frame_never_tells_changing_from_still() -> None:
    """Both looks of every carrier appear at frame 0 in both classes of its pair."""
    for carrier in range(len(scales.CUES)):
        looks = {
            label: {_look(video * scales.NUM_CLASSES + label) for video in range(24)}
            for label in (2 * carrier, 2 * carrier + 1)
        }
        assert looks[2 * carrier] == looks[2 * carrier + 1] == {0, 1}


def _look(index: int) -> int:
    """Which of its two looks video `index`'s carrier shows at frame 0: a square bright (0) or
    dim (1), stripes (0) or flat (1)."""
    video = open_video(SPEC, index)
    top, left, size = video.carrier_box
    patch = video.render(0)[max(top, 0) : top + size, max(left, 0) : left + size]
    grey = patch.astype(np.float32).mean(axis=2)
    if scales.CUES[video.label // 2].stripe_period is None:
        return int(grey.mean() < 100)
    return int(grey.std() < 5)
