"""The channel-wise convolutions' backward on the CPU, piece by piece: where a training step of
X3D spends most of its time (`bench_trial_phases.py`: backward is 65 % of a small trial).

    python benchmarks/bench_channelwise_backward.py [--threads 1]

For the stem's temporal 5×1×1 and a stage's 3×3×3 channel-wise convolution at their sizes in
a 4 × 12 × 112 model at batch 16 (`channels_last_3d`, as trials train), prints the forward, the
input gradient and the weight gradient as torch computes them, the input gradient computed as
a forward convolution with the kernel flipped, and the weight gradient as a sum of shifted
products, each against torch's result; then the whole backward of the model's own layer
(`ChannelwiseConv3d`, which uses the faster forms) against `nn.Conv3d`'s, and training steps of
whole networks with each (SGD, batch 16, `channels_last_3d`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from timing import interleaved_seconds, sgd_step
from torch import nn

from search_spaces.x3d import PRESETS
from search_spaces.x3d.channelwise import ChannelwiseConv3d, with_torch_convolutions
from search_spaces.x3d.model import build_x3d

CASES = {
    "stem 5×1×1": ((16, 24, 4, 56, 56), (5, 1, 1)),
    "res2 3×3×3": ((16, 24, 4, 28, 28), (3, 3, 3)),
}
STEP_MODELS = ("X2D", "XS")  # trained at 4 × 12 × 112 and at their own view


def milliseconds(step: Callable[[], object], repeats: int = 7) -> float:
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def shifted_weight_grad(
    x: torch.Tensor, grad: torch.Tensor, kernel: tuple[int, int, int]
) -> torch.Tensor:
    """Σ over batch and positions of each channel's input, shifted by every kernel offset,
    times its output gradient."""
    pad = [size // 2 for size in kernel]
    padded = F.pad(x, (pad[2], pad[2], pad[1], pad[1], pad[0], pad[0]))
    frames, height, width = x.shape[2:]
    weight = torch.empty(x.shape[1], *kernel)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            for k in range(kernel[2]):
                window = padded[:, :, i : i + frames, j : j + height, k : k + width]
                weight[:, i, j, k] = (window * grad).sum(dim=(0, 2, 3, 4))
    return weight.unsqueeze(1)


def measure(name: str, shape: tuple[int, ...], kernel: tuple[int, int, int]) -> None:
    channels, pad = shape[1], tuple(size // 2 for size in kernel)
    x, grad = (
        torch.randn(shape).contiguous(memory_format=torch.channels_last_3d) for _ in range(2)
    )
    weight = torch.randn(channels, 1, *kernel)

    def backward(mask: tuple[bool, bool, bool]) -> tuple[torch.Tensor, ...]:
        return torch.ops.aten.convolution_backward(
            grad, x, weight, None, (1, 1, 1), pad, (1, 1, 1), False, (0, 0, 0), channels, mask
        )

    grad_input = backward((True, False, False))[0]
    grad_weight = backward((False, True, False))[1]
    flipped = weight.flip(2, 3, 4)
    by_forward = F.conv3d(grad, flipped, padding=pad, groups=channels)
    shifted = shifted_weight_grad(x, grad, kernel)
    rows = {
        "forward": milliseconds(lambda: F.conv3d(x, weight, padding=pad, groups=channels)),
        "input gradient (torch)": milliseconds(lambda: backward((True, False, False))),
        "weight gradient (torch)": milliseconds(lambda: backward((False, True, False))),
        "input gradient as a flipped forward": milliseconds(
            lambda: F.conv3d(grad, flipped, padding=pad, groups=channels)
        ),
        "weight gradient as shifted products": milliseconds(
            lambda: shifted_weight_grad(x, grad, kernel), repeats=3
        ),
    }
    layer = ChannelwiseConv3d(channels, kernel)
    torch_layer = with_torch_convolutions(nn.Sequential(layer))[0]
    for label, module in (("ChannelwiseConv3d", layer), ("nn.Conv3d", torch_layer)):
        leaf = x.detach().requires_grad_(True)
        output = module(leaf)
        rows[f"backward, {label}"] = milliseconds(
            lambda output=output, inputs=(leaf, module.weight): torch.autograd.grad(
                output, inputs, grad, retain_graph=True
            )
        )
    print(f"{name}, input {tuple(shape)}:")
    for what, value in rows.items():
        print(f"  {what:<38} {value:7.1f}")
    errors = (
        (by_forward - grad_input).abs().max() / grad_input.abs().max(),
        (shifted - grad_weight).abs().max() / grad_weight.abs().max(),
    )
    print(f"  largest relative differences to torch: {errors[0]:.1e}, {errors[1]:.1e}")


def compare_training_steps() -> None:
    print("training step (batch 16), ms: ChannelwiseConv3d / nn.Conv3d")
    for name in STEP_MODELS:
        preset = PRESETS[name]
        for frames, crop in {(4, 112), (preset.frames, preset.crop)}:
            ours = build_x3d(preset, num_classes=16)
            theirs = with_torch_convolutions(build_x3d(preset, num_classes=16))
            clips = torch.randn(16, 3, frames, crop, crop)
            clips = clips.contiguous(memory_format=torch.channels_last_3d)
            labels = torch.randint(0, 16, (16,))
            steps = {
                label: sgd_step(model.to(memory_format=torch.channels_last_3d), clips, labels)
                for label, model in (("ours", ours), ("torch", theirs))
            }
            seconds = interleaved_seconds(steps, repeats=9, alternate=True)
            times = [1000 * seconds[label] for label in ("ours", "torch")]
            print(
                f"  {name} widths, {frames} frames × {crop}²: {times[0]:7.1f} / {times[1]:7.1f}"
                f"  ({times[1] / times[0]:.2f}× faster)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), ms (median of 7)")
    for name, (shape, kernel) in CASES.items():
        measure(name, shape, kernel)
    compare_training_steps()


if __name__ == "__main__":
    main()
