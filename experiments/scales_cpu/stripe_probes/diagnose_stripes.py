"""Where the `scales` stripes go, without training (stripe_probes/README.md):

1. the texture (mean absolute difference of neighbouring pixels, per frame) of the crop-160
   stripes pair (class 4 striped, class 5 flat) in training clips and the centred test clip of
   4 × 12 × 160, clutter off;
2. how far an untrained 4 × 12 × 160 X3D (random weights, eval mode) separates the pair in its
   pooled features: the largest and the median standardized mean difference per channel, after
   the stem and after the last stage, over 12 test clips of each class.

    python experiments/scales_cpu/stripe_probes/diagnose_stripes.py
"""

import numpy as np
import torch

from expansion.data import clips
from expansion.data.sampling import SINGLE_VIEW
from expansion.data.synthetic import SyntheticSpec, open_video
from expansion.data.transforms import STD
from search_spaces.base import InputView
from search_spaces.x3d import X3DConfig, build_x3d

VIEW = InputView(4, 12, 160)
STRIPED, FLAT = 4, 5


def texture(clip: torch.Tensor) -> list[float]:
    down = clip.diff(dim=2).abs().mean(dim=(0, 2, 3))
    along = clip.diff(dim=3).abs().mean(dim=(0, 2, 3))
    return [round(value, 3) for value in (down + along).tolist()]


def textures() -> None:
    spec = SyntheticSpec(dataset="scales", num_videos=64, clutter=0)
    for label in (STRIPED, FLAT):
        for video in range(3):
            source = open_video(spec, video * 16 + label)
            rng = np.random.default_rng(video)
            for _ in range(3):
                print("train", label, video, texture(clips.train_clip(source, VIEW, rng) * STD))
            test = clips.test_clips(source, VIEW, SINGLE_VIEW, 0)[0] * STD
            print("test ", label, video, texture(test))


def separation() -> None:
    torch.manual_seed(0)
    spec = SyntheticSpec(dataset="scales", num_videos=320)
    config = X3DConfig(
        frames=4, stride=12, crop=160, width_factor=2.0, bottleneck_factor=1.0, depth_factor=1.0
    )
    model = build_x3d(config, 16).eval()
    pooled: dict[str, list[torch.Tensor]] = {"stem": [], "stages": []}
    for name in pooled:
        getattr(model, name).register_forward_hook(
            lambda _, __, out, name=name: pooled[name].append(out.mean(dim=(2, 3, 4)))
        )
    labels = []
    with torch.no_grad():
        for video in range(12):
            for label in (STRIPED, FLAT):
                clip = clips.test_clips(open_video(spec, video * 16 + label), VIEW, SINGLE_VIEW, 0)
                model(clip[0][None])
                labels.append(label)
    classes = np.array(labels)
    for name, features in pooled.items():
        values = torch.cat(features).numpy()
        striped, flat = values[classes == STRIPED], values[classes == FLAT]
        spread = np.sqrt((striped.var(0) + flat.var(0)) / 2) + 1e-8
        difference = np.abs(striped.mean(0) - flat.mean(0)) / spread
        print(f"{name}: largest {difference.max():.2f} SD, median {np.median(difference):.2f}")


if __name__ == "__main__":
    textures()
    separation()
