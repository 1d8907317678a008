"""What a network family must provide to be searched by progressive expansion.

A search space is a seed configuration, a table of axes that each grow or shrink one aspect of a
configuration, a builder, and the input view (frames, stride, crop) a configuration is trained
on. Configurations are frozen dataclasses, so they are hashable (complexity is cached by them)
and an unknown field fails at construction.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from torch import nn


@dataclass(frozen=True)
class InputView:
    """How a configuration sees a video: `frames` frames, `stride` source frames apart, `crop`²."""

    frames: int
    stride: float
    crop: int

    def __post_init__(self) -> None:
        if self.frames < 1 or self.stride <= 0 or self.crop < 1:
            raise ValueError(f"invalid input view {self}: frames, stride and crop must be positive")

    def clip_shape(self, batch: int = 1) -> tuple[int, int, int, int, int]:
        """The tensor shape `(B, 3, T, H, W)` of a batch of clips in this view."""
        return (batch, 3, self.frames, self.crop, self.crop)


@dataclass(frozen=True)
class Axis:
    """One expansion axis: a named way to scale a configuration by a factor.

    `apply(config, factor)` returns the configuration with this axis scaled by `factor` (> 1
    expands, < 1 contracts), rounded to one that builds. The complexity of the result must be
    non-decreasing in `factor`, so that contraction can bisect over it.
    """

    name: str
    paper_name: str
    step: float
    description: str
    apply: Callable[[Any, float], Any]

    def expand(self, config: Any) -> Any:
        """The configuration one default step of this axis further out."""
        return self.apply(config, self.step)


class SearchSpace(Protocol):
    """A network family that the expansion search can grow. See `search_spaces.x3d` for one."""

    name: str
    axes: Mapping[str, Axis]
    seed: Any
    presets: Mapping[str, Any]

    def build(self, config: Any, num_classes: int) -> nn.Module:
        """A freshly initialised network for `config`."""
        ...

    def structure(self, config: Any) -> Hashable:
        """A key equal for configurations that build the same network on the same input.

        Factors round to channels and blocks, so many configurations share one network; the
        complexity cache keys on this, which keeps contraction's bisection cheap.
        """
        ...

    def input_view(self, config: Any) -> InputView:
        """The clip geometry `config` is trained and measured on."""
        ...

    def to_dict(self, config: Any) -> dict[str, Any]:
        """A plain, YAML-friendly description of `config`; `from_dict` reads it back."""
        ...

    def from_dict(self, values: Mapping[str, Any]) -> Any:
        """The configuration `to_dict` described; unknown or missing fields are an error."""
        ...
