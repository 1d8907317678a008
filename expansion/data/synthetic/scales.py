"""`scales`: the built-in benchmark, whose classes are seen one expansion step at a time.

Every video shows a smooth background, a few small drifting shapes and, over the middle 56 % of
the frame, one *carrier* of eight kinds: a solid square, or a patch of fine stripes. The kind (its
hue, and the background's tint) is plain from any view; the class pair it names is told apart
only by whether the carrier *changes* (class 2g) or stays *still* (2g + 1): a square turns
bright and dim, stripes come and go (a flat patch of their mean colour in between). Still, it
keeps one of its two looks, drawn at random, so that a single frame never tells the pair apart.

Each kind is seen only by views that resolve both its timing and its stripes, and each condition
is met one step later along the intended expansion path from X2D (1 × 32 frames, crop 112):

| kind | carrier                                       | first view that sees it          | step |
|------|-----------------------------------------------|----------------------------------|------|
| 0    | square, period 32                             | 2 × 16 (gap 16: half a period)   | γτ   |
| 1    | square, period 8                              | 4 × 12 (gap 12 ≡ 4 mod 8)        | γt   |
| 2    | stripes for crop 160, period 8                | 4 × 12 at crop 160               | γs   |
| 3    | stripes for crop 160, every frame             | 8 × 9 (odd gaps) at crop 160     | γt   |
| 4    | stripes for crop 224, every frame             | 8 × 9 at crop 224                | γs   |
| 5    | stripes for crop 224, beyond 42 frames of the middle | 16 × 6.75 (spans 101)     | γt   |
| 6    | stripes for crop 320, the same timing         | 16 × 6.75 at crop 320            | γs   |
| 7    | stripes for crop 320, beyond 70 frames of the middle | 32 × 5.06 (spans 157)     | γt   |

The time cues are exact: a view sees a blink only through a gap that is not a multiple of its
period, and a change far from the middle only with a clip that reaches it (the test clip is
centred). Stripes for crop c are 2.9 pixels apart in the crop at crop c's test scale (the short
side scaled to 128c/112), where scaling keeps about 2/3 of their contrast; one crop smaller they
are 2.05 pixels apart and keep about 40 % (a short trial does not learn them there: see
conf/trial/short.yaml), two crops smaller about 15 %. A model that sees k kinds can reach a
top-1 of 50 % + k × 6.25 %: 50 % from X2D, 87.5 % after 6 steps (about 1.2 GFLOPs), 100 % only
with 32 frames at crop 320 (about 5 GFLOPs).

Videos are 512 × 512 pixels and 180 frames (6 s at a nominal 30 fps) by default, a pure function
of `(seed, split, index)`; the label of video `i` is `i % 16`. Sizes scale with the short side;
timings are in frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from expansion.data.synthetic.spec import SPLITS, SyntheticSpec
from expansion.data.synthetic.sprites import Colour, SpriteVideo, distractors

Timing = Literal["period", "far"]


@dataclass(frozen=True)
class Cue:
    """One kind of carrier: its hue, its stripes, and when it changes (in its "changes" class).

    `stripe_period` is the stripes' period as a share of the short side (None: a solid square);
    `timing` "period": it changes every `frames / 2` frames (a square wave of period `frames`,
    random phase); "far": it has its other look in the frames more than `frames` from the middle.
    """

    name: str
    hue: Colour
    stripe_period: float | None
    timing: Timing
    frames: int

    def changed(self, t: int, offset: int, centre: float) -> bool:
        """Whether the active carrier is in its other state at frame `t`."""
        if self.timing == "period":
            return (t + offset) % self.frames >= self.frames // 2
        return abs(t - centre) > self.frames


def _period_for_crop(crop: int, pixels: float = 2.9) -> float:
    """A stripe period (share of the short side) of `pixels` in a crop of `crop` at test scale."""
    return pixels * 112 / (128 * crop)


_DIM = 0.3  # a square's dim level, as a share of its bright one
_HUES: tuple[Colour, ...] = (
    (1.0, 0.2, 0.2),  # red
    (0.2, 0.35, 1.0),  # blue
    (1.0, 0.9, 0.1),  # yellow
    (0.1, 0.9, 0.9),  # cyan
    (0.9, 0.2, 0.9),  # magenta
    (1.0, 0.55, 0.1),  # orange
    (0.2, 0.9, 0.2),  # green
    (0.9, 0.9, 0.9),  # white
)
_KINDS: tuple[tuple[str, float | None, Timing, int], ...] = (
    ("square, period 32", None, "period", 32),
    ("square, period 8", None, "period", 8),
    ("stripes for crop 160, period 8", _period_for_crop(160), "period", 8),
    ("stripes for crop 160, period 2", _period_for_crop(160), "period", 2),
    ("stripes for crop 224, period 2", _period_for_crop(224), "period", 2),
    ("stripes for crop 224, beyond 42 frames of the middle", _period_for_crop(224), "far", 42),
    ("stripes for crop 320, beyond 42 frames of the middle", _period_for_crop(320), "far", 42),
    ("stripes for crop 320, beyond 70 frames of the middle", _period_for_crop(320), "far", 70),
)
CUES: tuple[Cue, ...] = tuple(
    Cue(name, hue, period, timing, frames)
    for (name, period, timing, frames), hue in zip(_KINDS, _HUES, strict=True)
)
# Class 2g: carrier kind g changes; class 2g + 1: it stays still.
CLASS_NAMES: tuple[str, ...] = tuple(
    f"{cue.name}, {state}" for cue in CUES for state in ("changes", "still")
)
NUM_CLASSES = len(CLASS_NAMES)
_HALF_SIZE = 0.28  # the carrier's half size, as a share of the short side
_JITTER = 0.03  # its centre moves by up to this share of the short side from video to video


class ScalesVideo(SpriteVideo):
    """One `scales` video: its kind's tint, drifting shapes, and the carrier over them."""

    def __init__(self, spec: SyntheticSpec, index: int) -> None:
        label = index % NUM_CLASSES
        rng = np.random.default_rng([spec.seed, SPLITS[spec.split], index])
        self._centre = (spec.num_frames - 1) / 2
        cue = CUES[label // 2]
        tint = 60 + 70 * np.array(cue.hue)  # muted: the kind at a glance
        grid = np.clip(tint + rng.uniform(-15, 15, (3, 4, 3)), 0, 255).astype(np.uint8)
        short = min(spec.height, spec.width)
        sprites = distractors(rng, spec.clutter, spec.height, spec.width, short / 256)
        super().__init__(spec, label, grid, sprites)
        half = max(1, round(_HALF_SIZE * short))
        x, y = (side / 2 + rng.uniform(-_JITTER, _JITTER) * short for side in self._size[::-1])
        looks = _looks(cue, rng, 2 * half, short)
        first = int(rng.integers(2))  # the look it keeps when still, and shows at its start
        offset = int(rng.integers(cue.frames))
        changes = cue.changed if label % 2 == 0 else None
        self._carrier = _Carrier(round(y) - half, round(x) - half, looks, first, offset, changes)

    @property
    def carrier_box(self) -> tuple[int, int, int]:
        """Where the carrier is: `(top, left, size)` in pixels (it may reach past the edges)."""
        return self._carrier.top, self._carrier.left, self._carrier.looks[0].shape[0]

    def paint(self, canvas: np.ndarray, t: int) -> None:
        self._carrier.paint(canvas, t, self._centre)


@dataclass(frozen=True)
class _Carrier:
    """A carrier placed in one video: its two looks, the first one, and when it changes."""

    top: int
    left: int
    looks: tuple[np.ndarray, np.ndarray]
    first: int
    offset: int
    changed: Callable[[int, int, float], bool] | None  # None: still, never changes

    def look(self, t: int, centre: float) -> int:
        if self.changed is None:
            return self.first
        return self.first ^ int(self.changed(t, self.offset, centre))

    def paint(self, canvas: np.ndarray, t: int, centre: float) -> None:
        patch = self.looks[self.look(t, centre)]
        top, left = max(self.top, 0), max(self.left, 0)
        bottom = min(self.top + patch.shape[0], canvas.shape[0])
        right = min(self.left + patch.shape[1], canvas.shape[1])
        if top < bottom and left < right:
            canvas[top:bottom, left:right] = patch[
                top - self.top : bottom - self.top, left - self.left : right - self.left
            ]


def _looks(
    cue: Cue, rng: np.random.Generator, size: int, short: int
) -> tuple[np.ndarray, np.ndarray]:
    """The carrier's two looks as uint8 `(size, size, 3)` patches: a square bright and dim, or
    stripes (horizontal or vertical, random phase) and a flat patch of their mean colour."""
    if cue.stripe_period is None:
        colour = 0.5 + 0.5 * np.array(cue.hue, np.float32)  # light: a strong blink
        return tuple(  # type: ignore[return-value]
            np.broadcast_to(np.rint(level * colour * 255).astype(np.uint8), (size, size, 3))
            for level in (1.0, _DIM)
        )
    period = cue.stripe_period * short
    phase = rng.uniform(0, 2 * np.pi)
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(size, dtype=np.float32) / period + phase)
    bright = 0.5 + 0.5 * np.array(cue.hue, np.float32)
    dark = 0.1 * np.array(cue.hue, np.float32)
    along = wave[:, None, None] if rng.random() < 0.5 else wave[None, :, None]
    stripes = np.broadcast_to(dark + along * (bright - dark), (size, size, 3))
    flat = np.broadcast_to(dark + 0.5 * (bright - dark), (size, size, 3))
    return tuple(  # type: ignore[return-value]
        np.rint(look * 255).astype(np.uint8) for look in (stripes, flat)
    )
