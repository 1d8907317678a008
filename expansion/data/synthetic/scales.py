"""`scales`: the built-in benchmark, whose classes are seen one expansion step at a time.

Every video is one *carrier* of nine kinds filling the frame (drifting shapes over it with
`clutter`; none by default). The kind is plain from any view by its hue, but for crop 312's
two (below, a group of four classes that share their looks). In the pair's first
class the frame switches between two looks on the kind's timing (a repeating pattern, random
phase); in the second it shows one of the two throughout, so that no single frame tells the
pair apart. A class's videos start on the two looks in turn (video `i` on look
`i // NUM_CLASSES % 2`), so every split shows a still class in both looks equally often: a
short trial that tells a still blink by its brightness (a still video pools to one look's, a
changing one to their mean) is right on half of that class in training and in validation alike.
Drawn at random (`scales-v9`), one still class had 13 of its 20 training videos in one look and
12 of its 15 validation videos in the other, and such trials scored it 0.20:

- a *blink* (kinds 0-2): a bright and a dim frame, which any crop resolves;
- a *flicker* (kinds 3-7): fine vertical stripes (a sine wave, the kind's bright look on black)
  and the same stripes reversed, turned by half a cycle. The stripes are `STRIPE_PIXELS` apart
  at the test scale of the kind's crop (the short side scaled to 128·crop/112), just above the
  finest pattern that scale holds: its clips change by 0.18-0.29 of the full range between
  frames (a blink's by 0.44); one crop smaller (1.5 px) the Lanczos scaling leaves a sixth
  of that or less.

A clip sees a pair's change when it resolves the looks and two of its frames fall on different
looks of the pattern: never when its stride is a multiple of the period (for period 2: an even
stride). Each kind is first seen one step later along the intended expansion path from X2D
(1 × 32 frames, crop 112), and no other candidate of that step sees more of it than the step's
parent did (frame-rate steps halve the stride, spatial steps keep it):

| kind | carrier                       | first view that sees it | its step | GFLOPs |
|------|-------------------------------|-------------------------|----------|--------|
| 0    | blink, period 32              | 2 × 16 × 112            | 1 γτ     | 0.04   |
| 1    | blink, period 8               | 4 × 12 × 112            | 2 γt     | 0.08   |
| 2    | blink, period 2               | 8 × 9 × 112             | 3 γt     | 0.15   |
| 3    | flicker, period 2, crop 160   | 8 × 9 × 160             | 4 γs     | 0.30   |
| 4    | flicker, period 2, crop 224   | 8 × 9 × 224             | 5 γs     | 0.59   |
| 5    | flicker, period 2, crop 312   | 8 × 9 × 312             | 6 γs     | 1.18   |
| 6    | the same, horizontal stripes  | 8 × 9 × 312             | 6 γs     | 1.18   |
| 7    | flicker, period 2, crop 448   | 8 × 9 × 448             | 7 γs     | 2.37   |
| 8    | flicker, period 9, crop 448   | 16 × 6.75 × 448         | 8 γt     | 4.73   |

(X2D widths. Blinks switch every half period; kind 8's pattern is in `_KINDS`.) The views are
the ones the search builds (`sizing.expand`, 2× a step): a spatial step reaches the last 8-px
crop within 2× the GFLOPs, 312 and 448 after 224, not the nominal 320 and 456 that `scales-v6`
made its last three kinds for. At 2.5 % under its crop a flicker's stripes are 2.05 px apart,
at the limit of what the scaled frame holds: the v6 search's seed 1 learnt none of kind 5 at
8 × 9 × 312 where seed 0 learnt all of it (`experiments/scales_cpu/README.md`). The temporal
steps come before the spatial ones in case a flicker is learnt one crop early (v4's 3-px
stripes were): a temporal
step whose cue needed a crop the path reaches later would have been foreshadowed, one step
earlier, by the same-stride candidate at the smaller crop. Here a spatial step's candidates
other than the spatial one see its flicker exactly as much as their parent did, and the only
temporal cue past a spatial step (kind 8) is two crops away when the path is at 224. Later views
on the path keep seeing each kind: their strides are not multiples of its period.

Kinds 5 and 6 share a hue and differ only in their stripes' orientation, which averages away
below crop 312 with the stripes: there their four classes look alike and a model can call one
of them (a quarter), where another kind's pair gives it one of two. So the step that sees them
is worth three classes and every other step one: X2D reaches 8/18 = 44.4 %, each step one
class more (5.6 points) but step 6 three (16.7), 88.9 % at 1.2 GFLOPs and 100 % only at about
5 GFLOPs. Why the larger gain there (`scales-v9`): a trial that sees more kinds loses more of
the older ones (`experiments/scales_cpu/README.md`, "A third seed for the close candidates":
at 8 × 9 × 312 the spatial candidate's trials lost 3.2 points on average, as much as half the
one pair it gained, against a runner-up that lost none).

Why flicker and not stripes that appear (`scales-v2`): a short trial learns a change between
frames (a blink, a flicker) far more reliably than a fine texture's presence or a single
reversal (`experiments/scales_cpu/stripe_probes/`). Why 2.1 px, a sine and Lanczos scaling
(`scales-v6`): with bilinear scaling no spacing both kept enough change at the kind's crop to be
learnt every time and too little one crop smaller to be learnt at all (`v4_probes/`, `v5_probes/`,
`v5_odds/`). Lanczos keeps more of the first and far less of the second; the largest training
scale of one crop smaller (160·crop/112) is only 1/8 below the kind's test scale, so coarser
stripes, seen well there, were learnt one crop early in part; a sine has no harmonics to alias
back at the crops far below (`experiments/scales_cpu/v6_probes/`).

Videos are 640 × 640 pixels (the stripes for crop 448 are 2.6 px apart in it) and 180 frames
(6 s at a nominal 30 fps) by default, a pure function of `(seed, split, index)`; the label of
video `i` is `i % 18`. Sizes scale with the short side; timings are in frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expansion.data.synthetic.spec import SPLITS, SyntheticSpec
from expansion.data.synthetic.sprites import Colour, SpriteVideo, distractors

STRIPE_PIXELS = 2.1  # the stripes' period in the crop they are made for, at its test scale


@dataclass(frozen=True)
class Cue:
    """A kind of carrier: the frame in the kind's hue, switching between two looks by
    `pattern` (random phase) in the pair's first class and showing one of them throughout in
    its second.

    `pattern` is one period of the switching, a string of 0 and 1 (one per frame): a view whose
    stride is a multiple of its length never sees a change. With no `crop` the looks are bright
    and dim (a blink any view resolves); with one they are stripes `STRIPE_PIXELS` apart at that
    crop's test scale and the same stripes reversed (a flicker that only views of that crop or
    larger resolve).
    """

    name: str
    hue: Colour
    pattern: str
    crop: int | None = None
    horizontal: bool = False  # a flicker's stripes: vertical unless this

    def stripe_period(self, short: int) -> float:
        """The stripes' period in pixels of a frame whose short side is `short`."""
        assert self.crop is not None
        return STRIPE_PIXELS * 112 / (128 * self.crop) * short


_SUBPIXELS = 16  # samples a pixel when the stripes are drawn
_DIM = 0.3  # a blink's dim level, as a share of its bright one
# Each kind's hue, as far from the others' as any of its looks allows (a blink's bright and dim
# frame, a flicker's stripes averaged away one crop smaller), by the distance between colours:
# short trials called v5's still red blinks still yellow ones, and a closer palette's dim white
# blinks the averaged cyan stripes (`experiments/scales_cpu/v6_probes/`). The flickers up to crop
# 312 take the two-channel hues: their change is the weakest cue's.
_HUES: tuple[Colour, ...] = (
    (0.5, 1.0, 0.0),  # lime
    (0.0, 0.5, 1.0),  # azure
    (1.0, 0.0, 0.5),  # pink
    (1.0, 1.0, 0.0),  # yellow
    (0.0, 1.0, 1.0),  # cyan
    (1.0, 0.0, 1.0),  # magenta
    (1.0, 0.0, 1.0),  # magenta: one hue, so crop 312's two kinds look alike below that crop
    (1.0, 1.0, 1.0),  # white
    (0.5, 0.5, 0.5),  # grey
)
_TINT = 0.25  # every channel's floor in a kind's bright look: hues stay apart, dim ones too


def _bright(cue: Cue) -> np.ndarray:
    """A kind's bright look: its hue, each channel lifted to at least `_TINT`."""
    return _TINT + (1 - _TINT) * np.array(cue.hue, np.float32)


# (pattern, crop, horizontal) of each kind, in the order the intended path first sees them. A
# flicker is learnt only when most consecutive frames of a clip show it (`stripe_probes/`):
# period 2 switches at every frame of an odd stride, kind 8's period 9 at 5 of 6 frames of a
# stride-6.75 clip (the most a period of 9 allows) and never at stride 9.
_KINDS = (
    ("0" * 16 + "1" * 16, None, False),
    ("00001111", None, False),
    ("01", None, False),
    ("01", 160, False),
    ("01", 224, False),
    ("01", 312, False),
    ("01", 312, True),
    ("01", 448, False),
    ("111001100", 448, False),
)
CUES: tuple[Cue, ...] = tuple(
    Cue(
        f"{'blink' if crop is None else 'flicker'}, period {len(pattern)}"
        + ("" if crop is None else f", crop {crop}")
        + (", horizontal" if horizontal else ""),
        hue,
        pattern,
        crop,
        horizontal,
    )
    for (pattern, crop, horizontal), hue in zip(_KINDS, _HUES, strict=True)
)
# Class 2g is the first state of kind g, 2g + 1 the second.
CLASS_NAMES: tuple[str, ...] = tuple(
    f"{cue.name}, {state}" for cue in CUES for state in ("changes", "still")
)
NUM_CLASSES = len(CLASS_NAMES)


class ScalesVideo(SpriteVideo):
    """One `scales` video: its kind's carrier filling the frame, drifting shapes over it."""

    def __init__(self, spec: SyntheticSpec, index: int) -> None:
        label = index % NUM_CLASSES
        rng = np.random.default_rng([spec.seed, SPLITS[spec.split], index])
        cue = CUES[label // 2]
        short = min(spec.height, spec.width)
        sprites = distractors(rng, spec.clutter, spec.height, spec.width, short / 256)
        super().__init__(spec, label, sprites)
        if cue.crop is None:
            self._looks = _blink_looks(cue, self._size)
        else:
            self._looks = _stripe_looks(cue, rng, self._size, short)
        first = index // NUM_CLASSES % 2
        self.schedule = _schedule(cue, rng, spec.num_frames, first, changes=label % 2 == 0)

    def base(self, t: int) -> np.ndarray:
        return self._looks[self.schedule[t]].copy()


def _schedule(
    cue: Cue, rng: np.random.Generator, num_frames: int, first: int, changes: bool
) -> np.ndarray:
    """Which look (0 or 1) the frame shows at each frame: it starts at `first` and, if it
    `changes`, switches by the cue's pattern from a random phase."""
    pattern = np.array([int(bit) for bit in cue.pattern], np.uint8)
    offset = int(rng.integers(len(pattern)))
    switched = pattern[(np.arange(num_frames) + offset) % len(pattern)] if changes else 0
    return (first ^ np.broadcast_to(switched, num_frames)).astype(np.uint8)


def _blink_looks(cue: Cue, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The frame in the kind's bright look and at `_DIM` of it, as uint8 `(H, W, 3)`."""
    colour = _bright(cue)
    bright, dim = (
        np.broadcast_to(np.rint(level * colour * 255).astype(np.uint8), (*size, 3))
        for level in (1.0, _DIM)
    )
    return bright, dim


def _stripe_looks(
    cue: Cue, rng: np.random.Generator, size: tuple[int, int], short: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stripes of the kind's bright look on black over the whole frame (a sine wave, random
    phase, each pixel its area's mean) and the same stripes reversed, as uint8 `(H, W, 3)`.
    Vertical, or horizontal for the kind that shares its hue with a vertical one: training
    flips clips left to right, never turns them."""
    across = size[0] if cue.horizontal else size[1]
    samples = (np.arange(across * _SUBPIXELS) + 0.5) / _SUBPIXELS
    turns = 2 * np.pi * (samples / cue.stripe_period(short) + rng.uniform(0, 1))
    wave = (0.5 + 0.5 * np.sin(turns)).reshape(across, _SUBPIXELS).mean(axis=1, dtype=np.float32)
    wave = wave[:, None, None] if cue.horizontal else wave[None, :, None]
    bright = _bright(cue)
    return tuple(  # type: ignore[return-value]
        np.rint(np.broadcast_to(shade * bright, (*size, 3)) * 255).astype(np.uint8)
        for shade in (wave, 1 - wave)
    )
