"""`blinks`: the first built-in dataset, six classes told apart by blinks alone (fast tests).

Every video shows a smooth background, `clutter` small shapes drifting in random directions and
a large grey square near the centre. Classes come in three pairs: the background's tint names the
pair (any view, however small, shows it at a glance), and within a pair the square either blinks
(bright for half of every `period` frames, dim for the other half) or stays at one level, bright
or dim, so that no single frame tells the two apart. Only two frames whose gap is not a multiple
of the period can see a blink, so each pair rewards some ways of sampling frames and not others:

- 0 / 1, period 32: 2 frames at stride 16 always see it, at stride 24 half the time,
  at stride 32 (X2D's single frame) never. Rewards `frame_rate` from X2D.
- 2 / 3, period 8: 4 frames at stride 12 or 18 see it; strides 16, 24 and 8 never.
  Rewards `temporal` from 2 × 16.
- 4 / 5, period 2 (on and off every frame): only an odd gap shows it, as stride 9 (8 × 9) does;
  every even stride never. Rewards `temporal` from 4 × 12.

From X2D (1 frame at stride 32, crop 112) the search should take frame rate, then temporal twice;
larger crops and networks see nothing new, and once every blink is seen (0.16 GFLOPs) all
candidates tie: `scales` is the benchmark with headroom. The
blinking square covers a large part of the frame, so a few hundred clips learn to see a blink
whenever a view shows one: a short trial measures what a view can see, not luck.

Videos are `height`×`width` (default 256×340), `num_frames` long (default 120 at a nominal 30
fps), and a pure function of `(seed, split, index)`; the label of video `i` is `i % 6`. Only
the frames a clip asks for are rendered, and they go through the same clip code as decoded files
(`expansion.data.clips`).

Run `python -m expansion.data.synthetic --dataset blinks --out DIR` to export it as H.264 files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from expansion.data.synthetic.spec import SPLITS, SyntheticSpec
from expansion.data.synthetic.sprites import (
    Sprite,
    SpriteVideo,
    distractors,
    jitter,
    smooth_background,
    velocity,
)


@dataclass(frozen=True)
class SyntheticClass:
    name: str
    period: int  # frames of one blink cycle of the pair's square
    blinks: bool


PAIR_PERIODS = (32, 8, 2)
CLASSES: tuple[SyntheticClass, ...] = tuple(
    SyntheticClass(
        f"{'blinks' if blinks else 'steady'}, period {period}, tint {pair}", period, blinks
    )
    for pair, period in enumerate(PAIR_PERIODS)
    for blinks in (True, False)
)
NUM_CLASSES = len(CLASSES)
DIM = 0.3  # brightness of the square when dim
# Muted background tints (RGB, 0-255), one per pair of classes.
_BACKGROUNDS = ((150, 90, 90), (90, 150, 90), (90, 90, 150))


class BlinkVideo(SpriteVideo):
    """One `blinks` video: a tinted background, drifting shapes and the class's grey square."""

    def __init__(self, spec: SyntheticSpec, index: int) -> None:
        label = index % NUM_CLASSES
        rng = np.random.default_rng([spec.seed, SPLITS[spec.split], index])
        tint = np.array(_BACKGROUNDS[label // 2], np.float32)
        grid = np.clip(tint + rng.uniform(-15, 15, (3, 4, 3)), 0, 255).astype(np.uint8)
        clutter = distractors(rng, spec.clutter, spec.height, spec.width)
        super().__init__(spec, label, [*clutter, _square(rng, spec, CLASSES[label])])
        self._grid = grid

    @functools.cached_property
    def _background(self) -> np.ndarray:
        return smooth_background(self._grid, *self._size)

    def base(self, t: int) -> np.ndarray:
        return self._background.copy()


def _square(rng: np.random.Generator, spec: SyntheticSpec, kind: SyntheticClass) -> Sprite:
    """The class's grey square, drifting slowly through the frame's centre at mid-video.

    Training crops (112γs of a short side scaled to 128-160γs) keep the centre of the frame, so
    the square is in view in every clip.
    """
    grey = jitter(rng, (0.85, 0.85, 0.85))
    dim = (grey[0] * DIM, grey[1] * DIM, grey[2] * DIM)
    vx, vy = velocity(rng, 0.3)
    middle = spec.num_frames / 2
    x, y = rng.uniform(0.45, 0.55) * spec.width, rng.uniform(0.45, 0.55) * spec.height
    if kind.blinks:
        look = {"colour": grey, "second": dim, "offset": int(rng.integers(kind.period))}
    else:
        look = {"colour": grey if rng.random() < 0.5 else dim}
    return Sprite(
        "square",
        rng.uniform(0.29, 0.33) * spec.height,
        x=x - vx * middle,
        y=y - vy * middle,
        vx=vx,
        vy=vy,
        period=kind.period,
        **look,
    )
