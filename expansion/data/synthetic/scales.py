"""`scales`: the built-in benchmark, whose classes are seen one expansion step at a time.

Every video shows a smooth background, a few small drifting shapes and, over the middle 56 % of
the frame, one *carrier* of eight kinds. The kind (its hue, and the background's tint) is plain
from any view; the two classes of its pair differ in one thing that only some views see:

- a *blinking square* (kinds 0, 1) turns bright and dim every `period / 2` frames (class 2g) or
  stays at one of its two levels (2g + 1), so that a single frame never tells the pair apart;
  only two frames whose gap is not a multiple of the period see it;
- a patch of *fine stripes* (kinds 2-7, horizontal or vertical at random) is drawn in the
  frames more than `reach` frames from the middle of the video (class 2g), and a flat patch of
  their mean colour in all others and throughout class 2g + 1: only a test clip (centred) that
  reaches that far, at a crop large enough to resolve the stripes, tells the two apart.

Each kind is first seen one step later along the intended expansion path from X2D (1 × 32
frames, crop 112); a clip of n frames at stride s reaches (n - 1) s / 2 frames from its centre:

| kind | carrier                            | first view that sees it          | step |
|------|------------------------------------|----------------------------------|------|
| 0    | square, period 32                  | 2 × 16 (gap 16: half a period)   | γτ   |
| 1    | square, period 8                   | 4 × 12 (gap 12 ≡ 4 mod 8)        | γt   |
| 2    | stripes for crop 160, reach 15     | 4 × 12 (reaches 18) at crop 160  | γs   |
| 3    | stripes for crop 160, reach 25     | 8 × 9 (reaches 31.5) at crop 160 | γt   |
| 4    | stripes for crop 224, reach 25     | 8 × 9 at crop 224                | γs   |
| 5    | stripes for crop 224, reach 42     | 16 × 6.75 (reaches 50.6)         | γt   |
| 6    | stripes for crop 320, reach 42     | 16 × 6.75 at crop 320            | γs   |
| 7    | stripes for crop 320, reach 70     | 32 × 5.06 (reaches 78.5)         | γt   |

Views one frame-rate step away (the same span, more frames) reach no further, and views one
crop smaller keep a fifth to two fifths of the stripes' contrast after scaling (stripes for
crop c are `STRIPE_PIXELS` apart in the crop at crop c's test scale, the short side scaled to
128c/112: near the limit of what that crop resolves). A model that sees k kinds can reach a
top-1 of 50 % + k × 6.25 %: 50 % from X2D, 87.5 % after 6 steps (about 1.2 GFLOPs), 100 % only
with 32 frames at crop 320 (about 5 GFLOPs). Training clips start anywhere in the video, so
every model is shown the stripes while it trains; only the views that reach them at test see
them.

Videos are 512 × 512 pixels and 180 frames (6 s at a nominal 30 fps) by default, a pure function
of `(seed, split, index)`; the label of video `i` is `i % 16`. Sizes scale with the short side;
timings are in frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expansion.data.synthetic.spec import SPLITS, SyntheticSpec
from expansion.data.synthetic.sprites import Colour, SpriteVideo, distractors

STRIPE_PIXELS = 2.1  # the stripes' period in the crop they are made for, at its test scale


@dataclass(frozen=True)
class Blink:
    """A square that blinks with `period` frames (random phase) in the pair's first class."""

    name: str
    hue: Colour
    period: int


@dataclass(frozen=True)
class Stripes:
    """Stripes for crop `crop`, oriented by the pair's class, in the frames beyond `reach` of
    the video's middle."""

    name: str
    hue: Colour
    crop: int
    reach: int

    def period(self, short: int) -> float:
        """The stripes' period in pixels of a frame whose short side is `short`."""
        return STRIPE_PIXELS * 112 / (128 * self.crop) * short


Cue = Blink | Stripes
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
_BLINK_PERIODS = (32, 8)
_STRIPES = ((160, 15), (160, 25), (224, 25), (224, 42), (320, 42), (320, 70))
CUES: tuple[Cue, ...] = (
    *(
        Blink(f"square, period {period}", hue, period)
        for period, hue in zip(_BLINK_PERIODS, _HUES[: len(_BLINK_PERIODS)], strict=True)
    ),
    *(
        Stripes(f"stripes for crop {crop}, beyond {reach} frames", hue, crop, reach)
        for (crop, reach), hue in zip(_STRIPES, _HUES[len(_BLINK_PERIODS) :], strict=True)
    ),
)
_STATES = {Blink: ("changes", "still"), Stripes: ("striped", "flat")}
# Class 2g is the first state of kind g, 2g + 1 the second.
CLASS_NAMES: tuple[str, ...] = tuple(
    f"{cue.name}, {state}" for cue in CUES for state in _STATES[type(cue)]
)
NUM_CLASSES = len(CLASS_NAMES)
_HALF_SIZE = 0.28  # the carrier's half size, as a share of the short side
_JITTER = 0.03  # its centre moves by up to this share of the short side from video to video


class ScalesVideo(SpriteVideo):
    """One `scales` video: its kind's tint, drifting shapes, and the carrier over them."""

    def __init__(self, spec: SyntheticSpec, index: int) -> None:
        label = index % NUM_CLASSES
        rng = np.random.default_rng([spec.seed, SPLITS[spec.split], index])
        cue = CUES[label // 2]
        tint = 60 + 70 * np.array(cue.hue)  # muted: the kind at a glance
        grid = np.clip(tint + rng.uniform(-15, 15, (3, 4, 3)), 0, 255).astype(np.uint8)
        short = min(spec.height, spec.width)
        sprites = distractors(rng, spec.clutter, spec.height, spec.width, short / 256)
        super().__init__(spec, label, grid, sprites)
        half = max(1, round(_HALF_SIZE * short))
        x, y = (side / 2 + rng.uniform(-_JITTER, _JITTER) * short for side in self._size[::-1])
        first_state = label % 2 == 0
        if isinstance(cue, Blink):
            looks = _square_looks(cue, 2 * half)
            schedule = _blink_schedule(cue, rng, spec.num_frames, blinks=first_state)
        else:
            looks = _stripe_looks(cue, rng, 2 * half, short, horizontal=rng.random() < 0.5)
            schedule = _stripe_schedule(cue, spec.num_frames, striped=first_state)
        self.schedule = schedule
        self._top, self._left, self._looks = round(y) - half, round(x) - half, looks

    @property
    def carrier_box(self) -> tuple[int, int, int]:
        """Where the carrier is: `(top, left, size)` in pixels (it may reach past the edges)."""
        return self._top, self._left, self._looks[0].shape[0]

    def paint(self, canvas: np.ndarray, t: int) -> None:
        patch = self._looks[self.schedule[t]]
        top, left = max(self._top, 0), max(self._left, 0)
        bottom = min(self._top + patch.shape[0], canvas.shape[0])
        right = min(self._left + patch.shape[1], canvas.shape[1])
        if top < bottom and left < right:
            canvas[top:bottom, left:right] = patch[
                top - self._top : bottom - self._top, left - self._left : right - self._left
            ]


def _blink_schedule(
    cue: Blink, rng: np.random.Generator, num_frames: int, blinks: bool
) -> np.ndarray:
    """Which look (0 bright, 1 dim) the square shows at each frame: it starts at a random one
    and, if it `blinks`, switches every half period from a random phase."""
    first = int(rng.integers(2))
    offset = int(rng.integers(cue.period))
    t = np.arange(num_frames)
    switched = (t + offset) % cue.period >= cue.period // 2 if blinks else np.zeros_like(t, bool)
    return (first ^ switched).astype(np.uint8)


def _stripe_schedule(cue: Stripes, num_frames: int, striped: bool) -> np.ndarray:
    """Which look (0 flat, 1 stripes) the patch shows at each frame: if `striped`, stripes
    beyond its reach of the middle; else flat throughout."""
    distance = np.abs(np.arange(num_frames) - (num_frames - 1) / 2)
    return ((distance > cue.reach) & striped).astype(np.uint8)


def _square_looks(cue: Blink, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A light square of the kind's hue, bright and dim, as uint8 `(size, size, 3)` patches."""
    colour = 0.5 + 0.5 * np.array(cue.hue, np.float32)  # light: a strong blink
    bright, dim = (
        np.broadcast_to(np.rint(level * colour * 255).astype(np.uint8), (size, size, 3))
        for level in (1.0, _DIM)
    )
    return bright, dim


def _stripe_looks(
    cue: Stripes, rng: np.random.Generator, size: int, short: int, horizontal: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A flat patch of the stripes' mean colour and the stripes (random phase), as uint8
    `(size, size, 3)` patches."""
    phase = rng.uniform(0, 2 * np.pi)
    along = np.arange(size, dtype=np.float32)
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * along / cue.period(short) + phase)
    bright = 0.5 + 0.5 * np.array(cue.hue, np.float32)
    dark = 0.1 * np.array(cue.hue, np.float32)
    wave = wave[:, None, None] if horizontal else wave[None, :, None]
    stripes = np.broadcast_to(dark + wave * (bright - dark), (size, size, 3))
    flat = np.broadcast_to(dark + 0.5 * (bright - dark), (size, size, 3))
    return tuple(np.rint(look * 255).astype(np.uint8) for look in (flat, stripes))  # type: ignore[return-value]
