"""What the procedural datasets draw with: a smooth tinted background and moving shapes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from expansion.data.clips import NothingToRelease
from expansion.data.synthetic.spec import SyntheticSpec

Shape = Literal["disc", "square", "diamond", "ring"]
Colour = tuple[float, float, float]
SHAPES: tuple[Shape, ...] = ("disc", "square", "diamond", "ring")


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


def velocity(rng: np.random.Generator, max_speed: float) -> tuple[float, float]:
    """A random direction at a speed up to `max_speed` px per frame."""
    angle, speed = rng.uniform(0, 2 * math.pi), rng.uniform(0, max_speed)
    return speed * math.cos(angle), speed * math.sin(angle)


def jitter(rng: np.random.Generator, colour: Colour, amount: float = 0.05) -> Colour:
    """`colour` with each channel moved by up to `amount`, within [0, 1]."""
    r, g, b = np.clip(np.array(colour) + rng.uniform(-amount, amount, 3), 0, 1).tolist()
    return (r, g, b)


def distractors(
    rng: np.random.Generator, count: int, height: int, width: int, scale: float = 1.0
) -> list[Sprite]:
    """Small shapes in random muted colours anywhere in the frame, drifting at up to 2·`scale`
    px per frame; radii 6-12 px × `scale`."""
    sprites = []
    for _ in range(count):
        vx, vy = velocity(rng, 2.0 * scale)
        sprites.append(
            Sprite(
                shape=SHAPES[rng.integers(len(SHAPES))],
                radius=rng.uniform(6, 12) * scale,
                x=rng.uniform(0, width),
                y=rng.uniform(0, height),
                vx=vx,
                vy=vy,
                colour=jitter(rng, tuple(rng.uniform(0.25, 0.75, 3).tolist())),
            )
        )
    return sprites


def smooth_background(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """A coarse uint8 colour `grid` `(h, w, 3)` scaled bilinearly to `height`×`width`."""
    frame = av.VideoFrame.from_ndarray(grid, format="rgb24")
    return frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="BILINEAR")


class SpriteVideo(NothingToRelease):
    """A procedural video of `spec` rendered frame by frame on demand: moving sprites over a
    base frame that each dataset draws (`base`)."""

    def __init__(self, spec: SyntheticSpec, label: int, sprites: Sequence[Sprite]) -> None:
        self.fps = spec.fps
        self.num_frames = spec.num_frames
        self.label = label
        self._size = (spec.height, spec.width)
        self._sprites = tuple(sprites)

    def base(self, t: int) -> np.ndarray:
        """Frame `t` without its sprites, as a new uint8 RGB array `(H, W, 3)`."""
        raise NotImplementedError

    def render(self, t: int) -> np.ndarray:
        """Frame `t` as uint8 RGB `(H, W, 3)`."""
        canvas = self.base(t)
        for sprite in self._sprites:
            draw(canvas, sprite, t)
        return canvas

    def frames(self, indices: Sequence[int]) -> list[av.VideoFrame]:
        return [av.VideoFrame.from_ndarray(self.render(t), format="rgb24") for t in indices]
