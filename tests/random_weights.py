"""Random weights that make every tensor of a video network show in its output, and that output."""

from __future__ import annotations

import torch
from torch import nn


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BN statistics at scales that keep activations alive through the net,
    so that every tensor (and any mix-up of two of them) shows in the output."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor: torch.Tensor, low: float) -> None:
        tensor.copy_(torch.rand(tensor.shape, generator=generator) + low)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm3d):
                for tensor, low in zip(
                    (module.weight, module.bias, module.running_mean, module.running_var),
                    (0.5, -0.5, -0.5, 0.5),
                    strict=True,
                ):
                    uniform(tensor, low)
            elif isinstance(module, nn.Conv3d | nn.Linear):
                fan_in = module.weight[0].numel()
                normal = torch.randn(module.weight.shape, generator=generator)
                module.weight.copy_(normal / fan_in**0.5)
                if module.bias is not None:
                    uniform(module.bias, -0.5)
    return model.eval()


def outputs(model: nn.Module, frames: int, crop: int, seed: int = 1) -> torch.Tensor:
    """`model`'s output, in inference mode, for one random clip of `frames` × `crop`²."""
    clip = torch.randn(1, 3, frames, crop, crop, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.eval()(clip)
