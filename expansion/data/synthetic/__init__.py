"""The built-in dataset: procedural videos whose classes reward different search axes.

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
larger crops and networks see nothing new, and once every blink is seen all candidates tie. The
blinking square covers a large part of the frame, so a few hundred clips learn to see a blink
whenever a view shows one: a short trial measures what a view can see, not luck.

Videos are `height`×`width` (default 256×340), `num_frames` long (default 120 at a nominal 30
fps), and a pure function of `(seed, split, index)`; the label of video `i` is `i % 6`. Only
the frames a clip asks for are rendered, and they go through the same clip code as decoded files
(`expansion.data.clips`).

Run `python -m expansion.data.synthetic --out DIR` to export it as H.264 files with list files.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from expansion.data.clips import NothingToRelease
from expansion.errors import ConfigError

Split = Literal["train", "val"]
Shape = Literal["disc", "square", "diamond", "ring"]
Colour = tuple[float, float, float]


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
_SPLITS: dict[str, int] = {"train": 0, "val": 1}


@dataclass(frozen=True)
class SyntheticSpec:
    """Which synthetic videos: the data seed, the split, how many, and their geometry."""

    seed: int = 0
    split: Split = "train"
    num_videos: int = 1200
    height: int = 256
    width: int = 340
    num_frames: int = 120
    fps: float = 30.0
    clutter: int = 3

    def __post_init__(self) -> None:
        if self.split not in _SPLITS:
            raise ConfigError(f"split must be one of {sorted(_SPLITS)}, got {self.split!r}")
        if min(self.num_videos, self.height, self.width, self.num_frames) < 1 or self.fps <= 0:
            raise ConfigError(f"invalid synthetic dataset {self}")


@dataclass(frozen=True)
class Sprite:
    """A shape moving on a torus (it wraps around the frame edges).

    With a `second` colour it blinks: `colour` for the first half of every `period` frames
    (counted from `-offset`), `second` for the other half.
    """

    shape: Shape
    radius: float
    x: float
    y: float
    vx: float
    vy: float
    colour: Colour
    second: Colour | None = None
    period: int = 0
    offset: int = 0

    def colour_at(self, t: int) -> Colour:
        if self.second is None:
            return self.colour
        return self.colour if (t + self.offset) % self.period < self.period // 2 else self.second


def _coverage(shape: Shape, dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    """How much of each pixel the shape covers (edges anti-aliased over one pixel)."""
    if shape == "disc":
        inside = radius - np.hypot(dx, dy)
    elif shape == "square":
        inside = radius - np.maximum(np.abs(dx), np.abs(dy))
    elif shape == "diamond":
        inside = (radius - np.abs(dx) - np.abs(dy)) / math.sqrt(2)
    else:  # ring
        width = 0.3 * radius
        inside = width / 2 - np.abs(np.hypot(dx, dy) - (radius - width / 2))
    return np.clip(inside + 0.5, 0.0, 1.0)


def draw(canvas: np.ndarray, sprite: Sprite, t: int) -> None:
    """Paint `sprite` as it is at frame `t` onto an RGB `canvas` `(H, W, 3)` in place.

    The canvas is float in [0, 1] or uint8 in [0, 255]; only the sprite's box is converted.
    """
    height, width = canvas.shape[:2]
    x = (sprite.x + sprite.vx * t) % width
    y = (sprite.y + sprite.vy * t) % height
    colour = np.array(sprite.colour_at(t), np.float32)
    reach = sprite.radius + 1
    for cx in (x - width, x, x + width):
        left, right = max(math.floor(cx - reach), 0), min(math.ceil(cx + reach) + 1, width)
        for cy in (y - height, y, y + height):
            top, bottom = max(math.floor(cy - reach), 0), min(math.ceil(cy + reach) + 1, height)
            if left >= right or top >= bottom:
                continue
            dx = np.arange(left, right, dtype=np.float32)[None, :] - np.float32(cx)
            dy = np.arange(top, bottom, dtype=np.float32)[:, None] - np.float32(cy)
            alpha = _coverage(sprite.shape, dx, dy, sprite.radius)[..., None]
            region = canvas[top:bottom, left:right]
            if canvas.dtype == np.uint8:
                pixels = region.astype(np.float32) / 255
                region[...] = np.rint((pixels + alpha * (colour - pixels)) * 255)
            else:
                region += alpha * (colour - region)


class SyntheticVideo(NothingToRelease):
    """One synthetic video: a background and sprites, rendered frame by frame on demand."""

    def __init__(self, spec: SyntheticSpec, index: int) -> None:
        self.fps = spec.fps
        self.num_frames = spec.num_frames
        self.label = index % NUM_CLASSES
        rng = np.random.default_rng([spec.seed, _SPLITS[spec.split], index])
        self._size = (spec.height, spec.width)
        tint = np.array(_BACKGROUNDS[self.label // 2], np.float32)
        grid = tint + rng.uniform(-15, 15, (3, 4, 3))
        self._background_grid = np.clip(grid, 0, 255).astype(np.uint8)
        self._sprites = [*_distractors(rng, spec), _square(rng, spec, CLASSES[self.label])]

    @functools.cached_property
    def _background(self) -> np.ndarray:
        """The coarse colour grid scaled bilinearly to the frame size."""
        grid = av.VideoFrame.from_ndarray(self._background_grid, format="rgb24")
        height, width = self._size
        return grid.to_ndarray(width=width, height=height, format="rgb24", interpolation="BILINEAR")

    def render(self, t: int) -> np.ndarray:
        """Frame `t` as uint8 RGB `(H, W, 3)`."""
        canvas = self._background.copy()
        for sprite in self._sprites:
            draw(canvas, sprite, t)
        return canvas

    def frames(self, indices: Sequence[int]) -> list[av.VideoFrame]:
        return [av.VideoFrame.from_ndarray(self.render(t), format="rgb24") for t in indices]


def _velocity(rng: np.random.Generator, max_speed: float) -> tuple[float, float]:
    """A random direction at a speed up to `max_speed` px per frame."""
    angle, speed = rng.uniform(0, 2 * math.pi), rng.uniform(0, max_speed)
    return speed * math.cos(angle), speed * math.sin(angle)


def _tint(rng: np.random.Generator, colour: Colour) -> Colour:
    r, g, b = np.clip(np.array(colour) + rng.uniform(-0.05, 0.05, 3), 0, 1).tolist()
    return (r, g, b)


def _distractors(rng: np.random.Generator, spec: SyntheticSpec) -> list[Sprite]:
    """Small shapes in random muted colours anywhere in the frame, drifting at up to 2 px/frame."""
    shapes: tuple[Shape, ...] = ("disc", "square", "diamond", "ring")
    sprites = []
    for _ in range(spec.clutter):
        vx, vy = _velocity(rng, 2.0)
        sprites.append(
            Sprite(
                shape=shapes[rng.integers(len(shapes))],
                radius=rng.uniform(6, 12),
                x=rng.uniform(0, spec.width),
                y=rng.uniform(0, spec.height),
                vx=vx,
                vy=vy,
                colour=_tint(rng, tuple(rng.uniform(0.25, 0.75, 3).tolist())),
            )
        )
    return sprites


def _square(rng: np.random.Generator, spec: SyntheticSpec, kind: SyntheticClass) -> Sprite:
    """The class's grey square, drifting slowly through the frame's centre at mid-video.

    Training crops (112γs of a short side scaled to 128-160γs) keep the centre of the frame, so
    the square is in view in every clip.
    """
    grey = _tint(rng, (0.85, 0.85, 0.85))
    dim = (grey[0] * DIM, grey[1] * DIM, grey[2] * DIM)
    vx, vy = _velocity(rng, 0.3)
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


class SyntheticVideos:
    """The videos of a `SyntheticSpec` as a collection a `ClipDataset` can load."""

    num_classes = NUM_CLASSES

    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec

    def __len__(self) -> int:
        return self.spec.num_videos

    def label(self, index: int) -> int:
        return index % NUM_CLASSES

    def name(self, index: int) -> str:
        return f"synthetic/{self.spec.split}/{index:06d}"

    def open(self, index: int) -> SyntheticVideo:
        return SyntheticVideo(self.spec, index)
