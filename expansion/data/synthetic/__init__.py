"""The built-in dataset: procedural action videos whose classes reward different search axes.

Every video shows a smooth random background, `clutter` distractor shapes drifting in random
directions, and one actor whose behaviour is the class. Classes come in pairs: the two classes
of a pair share an actor that looks the same in any single low-resolution frame, and only one
cue tells them apart, chosen to reward one expansion axis:

- 0 up / 1 down, a yellow disc: the direction of its motion (0.6-1 px/frame). A single frame
  cannot tell; rewards `temporal` (any frames > 1).
- 2 fast / 3 slow flicker, an orange square: brightness flicker at 0.3-0.5 against 0-0.2
  cycles/frame. The bands mirror around 0.25, so every even stride aliases both onto the same
  distribution; rewards `frame_rate` (stride < 2).
- 4 quick / 5 slow pulse, a cyan diamond: 0.1-0.167 against 0-0.067 cycles/frame, mirrored around
  1/12: identical at strides 6, 12, ..., separable at strides <= 4; rewards `frame_rate` (and
  frames, to see a period).
- 6 turns white / 7 turns black, a purple ring: a colour change at 65-90 % of the video, before
  which the pair is identical; rewards `temporal` extent (frames × stride reaching the late part).
- 8 plus / 9 cross, a green tile of a lattice of 3×3-pixel "+" or "×" glyphs of equal brightness:
  resolved at crop 224 (short side ≥ 256 px), blurred away at crop 112 (short side 128-160);
  rewards `spatial`.
- 10 red disc + blue square / 11 blue disc + red square: which colour goes with which shape, among
  distractors of the same shapes in random colours; rewards `width`, `bottleneck`, `depth`.

Distractors (all classes) add the need for capacity: the network has to find the actor among
moving shapes. Actors pass through the central region of the frame at mid-video, where training
crops keep them in view, and the background is muted: the pair is easy to learn from a few
hundred clips, so that a short trial measures the cue that separates a pair, not luck.

Videos are `height`×`width` (default 256×340), `num_frames` long (default 120 at a nominal 30
fps), and a pure function of `(seed, split, index)`; the label of video `i` is `i % 12`. Only
the frames a clip asks for are rendered, and they go through the same clip code as decoded files
(`expansion.data.clips`).

Run `python -m expansion.data.synthetic --out DIR` to export it as H.264 files with list files.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import av
import numpy as np

Split = Literal["train", "val"]
Shape = Literal["disc", "square", "diamond", "ring", "glyphs"]
Colour = tuple[float, float, float]


@dataclass(frozen=True)
class SyntheticClass:
    name: str
    cue: str
    axis: str


CLASSES: tuple[SyntheticClass, ...] = (
    SyntheticClass("disc moves up", "motion direction", "temporal (frames > 1)"),
    SyntheticClass("disc moves down", "motion direction", "temporal (frames > 1)"),
    SyntheticClass("fast flicker", "flicker 0.3-0.5 cycles/frame", "frame_rate"),
    SyntheticClass("slow flicker", "flicker 0-0.2 cycles/frame", "frame_rate"),
    SyntheticClass("quick pulse", "pulse 0.1-0.167 cycles/frame", "frame_rate, temporal"),
    SyntheticClass("slow pulse", "pulse 0-0.067 cycles/frame", "frame_rate, temporal"),
    SyntheticClass("ring turns white", "late colour change", "temporal extent"),
    SyntheticClass("ring turns black", "late colour change", "temporal extent"),
    SyntheticClass("plus glyphs", "3x3-pixel glyphs", "spatial"),
    SyntheticClass("cross glyphs", "3x3-pixel glyphs", "spatial"),
    SyntheticClass("red disc, blue square", "colour-shape binding in clutter", "width/depth"),
    SyntheticClass("blue disc, red square", "colour-shape binding in clutter", "width/depth"),
)
NUM_CLASSES = len(CLASSES)

_SPLITS: dict[str, int] = {"train": 0, "val": 1}
_GLYPH_CELL = 5  # glyph lattice spacing in pixels: a 3x3 glyph and a 2-pixel gap
_LATTICE_CELLS = {
    name: np.pad(np.array(glyph, np.float32), ((1, 1), (1, 1)))
    for name, glyph in {
        "plus": [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
        "cross": [[1, 0, 1], [0, 1, 0], [1, 0, 1]],
    }.items()
}


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
            raise ValueError(f"split must be one of {sorted(_SPLITS)}, got {self.split!r}")
        if min(self.num_videos, self.height, self.width, self.num_frames) < 1 or self.fps <= 0:
            raise ValueError(f"invalid synthetic dataset {self}")


@dataclass(frozen=True)
class Sprite:
    """A shape moving on a torus (it wraps around the frame edges) whose look may change in time.

    Brightness is `1 - pulse · (1 - cos(2π·flicker·t + phase)) / 2`; from frame `change_at` on the
    colour is `changed`. A "glyphs" sprite is a square tile of `glyph` glyphs on a lattice.
    """

    shape: Shape
    radius: float
    x: float
    y: float
    vx: float
    vy: float
    colour: Colour
    pulse: float = 0.0
    flicker: float = 0.0
    phase: float = 0.0
    change_at: float = math.inf
    changed: Colour = (0.0, 0.0, 0.0)
    glyph: str = "plus"


def _coverage(shape: Shape, dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    """How much of each pixel the shape covers (edges anti-aliased over one pixel)."""
    if shape == "disc":
        inside = radius - np.hypot(dx, dy)
    elif shape in ("square", "glyphs"):
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
    colour = np.array(sprite.changed if t >= sprite.change_at else sprite.colour, np.float32)
    colour *= 1 - sprite.pulse * (1 - math.cos(2 * math.pi * sprite.flicker * t + sprite.phase)) / 2
    if sprite.shape == "glyphs":  # a pixel-exact lattice: keep it on whole pixels
        x, y = round(x), round(y)
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
            paint = colour
            if sprite.shape == "glyphs":
                rows = dy.astype(np.int64) % _GLYPH_CELL
                cols = dx.astype(np.int64) % _GLYPH_CELL
                mark = _LATTICE_CELLS[sprite.glyph][rows, cols][..., None]
                paint = colour * (0.45 + 0.55 * mark)
            region = canvas[top:bottom, left:right]
            if canvas.dtype == np.uint8:
                pixels = region.astype(np.float32) / 255
                region[...] = np.rint((pixels + alpha * (paint - pixels)) * 255)
            else:
                region += alpha * (paint - region)


class SyntheticVideo:
    """One synthetic video: a background and sprites, rendered frame by frame on demand."""

    def __init__(self, spec: SyntheticSpec, index: int) -> None:
        self.fps = spec.fps
        self.num_frames = spec.num_frames
        self.label = index % NUM_CLASSES
        rng = np.random.default_rng([spec.seed, _SPLITS[spec.split], index])
        self._size = (spec.height, spec.width)
        # Muted colours, so that the actors' colours stand out in a few hundred training clips.
        self._background_grid = rng.integers(70, 131, (3, 4, 3), dtype=np.uint8)
        self._sprites = _distractors(rng, spec) + _actors(rng, spec, self.label)

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

    def __enter__(self) -> SyntheticVideo:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def _velocity(rng: np.random.Generator, max_speed: float) -> tuple[float, float]:
    """A random direction at a speed up to `max_speed` px per frame."""
    angle, speed = rng.uniform(0, 2 * math.pi), rng.uniform(0, max_speed)
    return speed * math.cos(angle), speed * math.sin(angle)


def _drift(rng: np.random.Generator, spec: SyntheticSpec, max_speed: float) -> dict[str, float]:
    """Anywhere in the frame, drifting in a random direction (distractors)."""
    vx, vy = _velocity(rng, max_speed)
    return {"x": rng.uniform(0, spec.width), "y": rng.uniform(0, spec.height), "vx": vx, "vy": vy}


def _centred(
    rng: np.random.Generator, spec: SyntheticSpec, vx: float, vy: float
) -> dict[str, float]:
    """An actor's path: through the frame's central region at mid-video, moving by (vx, vy).

    Training crops (112γs of a short side scaled to 128-160γs) keep the centre of the frame, so
    the cue is in view in almost every clip; actors anywhere would leave many clips unlabelled.
    """
    middle = spec.num_frames / 2
    x = rng.uniform(0.4, 0.6) * spec.width
    y = rng.uniform(0.4, 0.6) * spec.height
    return {"x": x - vx * middle, "y": y - vy * middle, "vx": vx, "vy": vy}


def _slow(rng: np.random.Generator, spec: SyntheticSpec) -> dict[str, float]:
    """A centred actor drifting slowly (at most 0.4 px per frame) in a random direction."""
    return _centred(rng, spec, *_velocity(rng, 0.4))


def _tint(rng: np.random.Generator, colour: Colour) -> Colour:
    r, g, b = np.clip(np.array(colour) + rng.uniform(-0.05, 0.05, 3), 0, 1).tolist()
    return (r, g, b)


def _distractors(rng: np.random.Generator, spec: SyntheticSpec) -> list[Sprite]:
    shapes: tuple[Shape, ...] = ("disc", "square", "diamond", "ring")
    return [
        Sprite(
            shape=shapes[rng.integers(len(shapes))],
            radius=rng.uniform(8, 18),
            colour=_tint(rng, tuple(rng.uniform(0.1, 0.95, 3).tolist())),
            **_drift(rng, spec, 2.0),
        )
        for _ in range(spec.clutter)
    ]


def _actors(rng: np.random.Generator, spec: SyntheticSpec, label: int) -> list[Sprite]:
    pair, second = divmod(label, 2)
    phase = rng.uniform(0, 2 * math.pi)
    if pair == 0:
        speed = rng.uniform(0.6, 1.0) * (1 if second else -1)
        place = _centred(rng, spec, rng.uniform(-0.2, 0.2), speed)
        return [Sprite("disc", rng.uniform(20, 28), colour=_tint(rng, (0.95, 0.85, 0.1)), **place)]
    if pair in (1, 2):  # mirrored frequency bands: high band [0.6, 1] / 2S, low band [0, 0.4] / 2S
        nyquist_stride = 1 if pair == 1 else 3
        band = (0.0, 0.4) if second else (0.6, 1.0)
        flicker = rng.uniform(*band) / (2 * nyquist_stride)
        shape: Shape = "square" if pair == 1 else "diamond"
        colour = (1.0, 0.55, 0.1) if pair == 1 else (0.1, 0.9, 0.9)
        return [
            Sprite(
                shape,
                rng.uniform(22, 30) if pair == 1 else rng.uniform(28, 36),
                colour=_tint(rng, colour),
                pulse=0.85,
                flicker=flicker,
                phase=phase,
                **_slow(rng, spec),
            )
        ]
    if pair == 3:
        return [
            Sprite(
                "ring",
                rng.uniform(22, 30),
                colour=_tint(rng, (0.6, 0.25, 0.75)),
                change_at=rng.uniform(0.65, 0.9) * spec.num_frames,
                changed=(0.03, 0.03, 0.03) if second else (0.97, 0.97, 0.97),
                **_slow(rng, spec),
            )
        ]
    if pair == 4:
        return [
            Sprite(
                "glyphs",
                rng.uniform(36, 46),
                colour=_tint(rng, (0.45, 0.95, 0.45)),
                glyph="cross" if second else "plus",
                **_slow(rng, spec),
            )
        ]
    red, blue = _tint(rng, (0.9, 0.1, 0.1)), _tint(rng, (0.1, 0.2, 0.95))
    disc, square = (blue, red) if second else (red, blue)
    return [
        Sprite("disc", rng.uniform(17, 22), colour=disc, **_slow(rng, spec)),
        Sprite("square", rng.uniform(15, 21), colour=square, **_slow(rng, spec)),
    ]


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
