"""The built-in procedural datasets: nothing to download, every video a pure function of
`(dataset, seed, split, index)`, rendered on demand through the same clip code as decoded files.

- `scales` (the default, `scales.py`): the benchmark. Sixteen classes in eight pairs, each pair
  told apart by one more step of the expansion path (frame rate, temporal, spatial, temporal,
  spatial, spatial, temporal, spatial), so that top-1 rises from 50 % at X2D to 87.5 % at
  about 1.2 GFLOPs and 100 % only at about 5 GFLOPs.
- `blinks` (`blinks.py`): six classes that every model above 0.16 GFLOPs tells apart; small and
  fast, for tests of the plumbing.

Run `python -m expansion.data.synthetic --out DIR [--dataset NAME]` to export one as H.264 files
with list files.
"""

from expansion.data.synthetic import blinks, scales
from expansion.data.synthetic.blinks import BlinkVideo
from expansion.data.synthetic.scales import ScalesVideo
from expansion.data.synthetic.spec import DEFAULT_DATASET, GEOMETRIES, SyntheticSpec

SyntheticVideo = ScalesVideo | BlinkVideo
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "scales": scales.CLASS_NAMES,
    "blinks": tuple(kind.name for kind in blinks.CLASSES),
}


def open_video(spec: SyntheticSpec, index: int) -> SyntheticVideo:
    """Video `index` of `spec` (nothing is rendered until a frame is asked for)."""
    return ScalesVideo(spec, index) if spec.dataset == "scales" else BlinkVideo(spec, index)


class SyntheticVideos:
    """The videos of a `SyntheticSpec` as a collection a `ClipDataset` can load."""

    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec
        self.num_classes = len(CLASS_NAMES[spec.dataset])

    def __len__(self) -> int:
        return self.spec.num_videos

    def label(self, index: int) -> int:
        return index % self.num_classes

    def name(self, index: int) -> str:
        return f"{self.spec.dataset}/{self.spec.split}/{index:06d}"

    def open(self, index: int) -> SyntheticVideo:
        return open_video(self.spec, index)


__all__ = [
    "CLASS_NAMES",
    "DEFAULT_DATASET",
    "GEOMETRIES",
    "BlinkVideo",
    "ScalesVideo",
    "SyntheticSpec",
    "SyntheticVideo",
    "SyntheticVideos",
    "open_video",
]
