"""CPU training throughput of this project's X3D beside pytorchvideo's `create_x3d`, in one run
(not a test; pytorchvideo is a development dependency).

    python benchmarks/bench_vs_pytorchvideo.py [--presets XS S] [--batch 4] [--steps 5]

For each preset, both networks train (forward, backward, SGD step, fp32, random clips) as
shipped (contiguous) and in `channels_last_3d`; the cases alternate step by step so that a
machine whose speed drifts affects them alike. Prints clips/s per case and our speed as a
ratio of pytorchvideo's in the same memory format.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from collections.abc import Callable

import torch
from timing import interleaved_seconds, sgd_step
from torch import nn

from search_spaces.x3d import PRESETS, X3D_SPACE, X3DConfig, build_x3d

NUM_CLASSES = 400


def pytorchvideo_builder() -> Callable[..., nn.Module]:
    """pytorchvideo's `create_x3d`. Its `models` package imports torchvision's RoIAlign for
    detection heads only; torchvision has no CPU wheel here, so a stand-in lets it import."""
    if "torchvision" not in sys.modules and importlib.util.find_spec("torchvision") is None:
        stand_in = types.ModuleType("torchvision")
        stand_in.ops = types.ModuleType("torchvision.ops")  # type: ignore[attr-defined]
        stand_in.ops.RoIAlign = None  # type: ignore[attr-defined]
        sys.modules.setdefault("torchvision", stand_in)
        sys.modules.setdefault("torchvision.ops", stand_in.ops)  # type: ignore[attr-defined]
    return importlib.import_module("pytorchvideo.models.x3d").create_x3d


def networks(config: X3DConfig) -> dict[str, nn.Module]:
    create_x3d = pytorchvideo_builder()
    theirs = create_x3d(
        input_clip_length=config.frames,
        input_crop_size=config.crop,
        width_factor=config.width_factor,
        depth_factor=config.depth_factor,
        bottleneck_factor=config.bottleneck_factor,
        model_num_class=NUM_CLASSES,
        head_activation=None,
    )
    return {"ours": build_x3d(config, NUM_CLASSES), "pytorchvideo": theirs}


def training_step(model: nn.Module, clips: torch.Tensor, channels_last: bool) -> Callable[[], None]:
    """One SGD step of `model` on `clips`, in the memory format asked for."""
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        clips = clips.contiguous(memory_format=torch.channels_last_3d)
    return sgd_step(model, clips, torch.randint(0, NUM_CLASSES, (clips.shape[0],)))


def compare(name: str, batch: int, steps: int) -> None:
    config = PRESETS[name]
    torch.manual_seed(0)
    clips = torch.randn(X3D_SPACE.input_view(config).clip_shape(batch))
    cases = {
        (network, layout): training_step(model, clips, layout == "channels_last_3d")
        for layout in ("contiguous", "channels_last_3d")
        for network, model in networks(config).items()
    }
    seconds = interleaved_seconds(cases, steps)
    rates = {case: batch / seconds[case] for case in cases}
    for layout in ("contiguous", "channels_last_3d"):
        ours, theirs = rates["ours", layout], rates["pytorchvideo", layout]
        print(
            f"{name:>2} batch {batch} {layout:<16} ours {ours:6.2f} clips/s   "
            f"pytorchvideo {theirs:6.2f} clips/s   ratio {ours / theirs:.2f}x"
        )
    shipped = rates["ours", "channels_last_3d"] / rates["pytorchvideo", "contiguous"]
    print(
        f"{name:>2} as each is used (ours in channels_last_3d, pytorchvideo as shipped): "
        f"{shipped:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["XS", "S"], choices=list(PRESETS))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per case")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in args.presets:
        compare(name, args.batch, args.steps)


if __name__ == "__main__":
    main()
