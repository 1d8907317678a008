"""How much of a reversing stripe pattern survives the pipeline's scaling, by filter and spacing.

For sine-wave stripes `p` pixels apart at the test scale of a crop (short side 128·crop/112), the
mean absolute change between the stripes and the same stripes reversed (full contrast = 1), averaged
over 7 phases, after swscale scales a 640-px frame to: the crop's test scale, the test scale of
one crop smaller, and the largest training scale of the crop (160·crop/112).

    python experiments/scales_cpu/v6_probes/transmission.py > transmission.txt
"""

from __future__ import annotations

import itertools

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

NATIVE = 640
CROPS = (112, 160, 224, 320, 456)
SPACINGS = (1.8, 2.0, 2.1, 2.2, 2.4)
PHASES = np.linspace(0, 1, 7, endpoint=False)


def stripes(period: float, phase: float) -> np.ndarray:
    """A strip 64 rows high of vertical sine-wave stripes, each pixel its area's mean."""
    subpixels = 16
    x = (np.arange(NATIVE * subpixels) + 0.5) / subpixels
    turns = 2 * np.pi * (x / period + phase)
    wave = (0.5 + 0.5 * np.sin(turns)).reshape(NATIVE, subpixels).mean(axis=1)
    return np.rint(np.broadcast_to(wave[None, :, None], (64, NATIVE, 3)) * 255).astype(np.uint8)


def scaled(image: np.ndarray, width: int, filter_: Interpolation) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    flags = filter_ | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    height = max(1, 64 * width // NATIVE)
    out = VideoReformatter().reformat(
        frame, width=width, height=height, format="rgb24", interpolation=flags
    )
    return out.to_ndarray()[..., 0].astype(np.float32) / 255


def change(period: float, width: int, filter_: Interpolation) -> float:
    return float(
        np.mean(
            [
                np.abs(
                    scaled(stripes(period, phase), width, filter_)
                    - scaled(stripes(period, phase + 0.5), width, filter_)
                ).mean()
                for phase in PHASES
            ]
        )
    )


def main() -> None:
    print("filter crop  " + "  ".join(f"{p} px (test/smaller/train)" for p in SPACINGS))
    for name in ("BILINEAR", "LANCZOS"):
        filter_ = getattr(Interpolation, name)
        for smaller, crop in itertools.pairwise(CROPS):
            test, below, train = (128 * crop // 112, 128 * smaller // 112, 160 * crop // 112)
            cells = [
                "/".join(
                    f"{change(p * NATIVE / test, width, filter_):.2f}"
                    for width in (test, below, train)
                )
                for p in SPACINGS
            ]
            print(f"{name:8} {crop:4}  " + "  ".join(f"{cell:>24}" for cell in cells))


if __name__ == "__main__":
    main()
