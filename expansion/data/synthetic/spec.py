"""Which synthetic videos: the dataset, the data seed, the split, how many, and their geometry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from expansion.errors import ConfigError

Split = Literal["train", "val"]
SPLITS: dict[str, int] = {"train": 0, "val": 1}


@dataclass(frozen=True)
class Geometry:
    """A dataset's default frame size, length and number of distracting shapes."""

    height: int
    width: int
    num_frames: int
    clutter: int


# The built-in datasets and their versions: a version changes whenever the same (seed, split,
# index) renders differently, so recorded results name exactly what they were measured on.
GEOMETRIES: dict[str, Geometry] = {
    "scales": Geometry(height=640, width=640, num_frames=180, clutter=0),
    "blinks": Geometry(height=256, width=340, num_frames=120, clutter=3),
}
VERSIONS: dict[str, int] = {"scales": 10, "blinks": 1}  # scales 8: a draft never merged
DEFAULT_DATASET = "scales"


@dataclass(frozen=True)
class SyntheticSpec:
    """Videos `0 … num_videos-1` of `split` of the built-in `dataset` drawn with data `seed`.

    Geometry left at None takes the dataset's own (`GEOMETRIES`).
    """

    seed: int = 0
    split: Split = "train"
    num_videos: int = 1200
    dataset: str = DEFAULT_DATASET
    height: int = None  # type: ignore[assignment]  # None: the dataset's; an int after init
    width: int = None  # type: ignore[assignment]
    num_frames: int = None  # type: ignore[assignment]
    fps: float = 30.0
    clutter: int = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.dataset not in GEOMETRIES:
            known = ", ".join(GEOMETRIES)
            raise ConfigError(f"unknown synthetic dataset {self.dataset!r}: {known}")
        if self.split not in SPLITS:
            raise ConfigError(f"split must be one of {sorted(SPLITS)}, got {self.split!r}")
        defaults = GEOMETRIES[self.dataset]
        for name in ("height", "width", "num_frames", "clutter"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))
        if min(self.num_videos, self.height, self.width, self.num_frames) < 1 or self.fps <= 0:
            raise ConfigError(f"invalid synthetic dataset {self}")
        if self.clutter < 0:
            raise ConfigError(f"invalid synthetic dataset {self}: clutter cannot be negative")
