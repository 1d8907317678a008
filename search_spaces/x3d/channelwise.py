"""X3D's channel-wise (depthwise) 3D convolution, with a faster backward on the CPU.

On the CPU, torch's backward of a channel-wise convolution is where a trial spends most of its
time (`benchmarks/bench_channelwise_backward.py`): for the stem's 5×1×1 at batch 16 the input
gradient takes 6× and the weight gradient 40× as long as the forward. Both have cheaper forms:

- the input gradient of a stride-1 convolution is the same convolution of the output gradient
  with the kernel flipped in every dimension (a forward pass, which is fast);
- the weight gradient of a kernel with one spatial offset (k×1×1) is, for each temporal offset,
  one product of the shifted input with the output gradient summed per channel.

The layer computes exactly what `nn.Conv3d` computes (same parameters, same state dict) and
takes this path only when it trains on the CPU with stride 1; elsewhere (CUDA, inference,
tracing, strided blocks) it is `nn.Conv3d`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class ChannelwiseConv3d(nn.Conv3d):
    """A bias-free channel-wise `nn.Conv3d` (groups = channels) with odd kernels and 'same'
    padding."""

    def __init__(self, channels: int, kernel: tuple[int, int, int], stride: int = 1) -> None:
        super().__init__(
            channels,
            channels,
            kernel,
            stride=(1, stride, stride),
            padding=tuple(size // 2 for size in kernel),
            groups=channels,
            bias=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast = (
            self.training
            and x.device.type == "cpu"
            and torch.is_grad_enabled()
            and not torch.jit.is_tracing()  # tracers (fvcore, export) should see a convolution
            and self.stride == (1, 1, 1)
            and x.dtype == self.weight.dtype
            and not torch.is_autocast_enabled("cpu")
            and (x.requires_grad or self.weight.requires_grad)
        )
        if fast:
            return _ChannelwiseConv.apply(x, self.weight, self.padding)
        return super().forward(x)


class _ChannelwiseConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, ...]):
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv3d(x, weight, padding=padding, groups=weight.shape[0])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        padding, channels = ctx.padding, weight.shape[0]
        grad_input = grad_weight = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(2, 3, 4)
            grad_input = F.conv3d(grad, flipped, padding=padding, groups=channels)
        if ctx.needs_input_grad[1]:
            if weight.shape[3:] == (1, 1):
                grad_weight = _temporal_weight_grad(x, grad, weight.shape[2])
            else:
                grad_weight = torch.ops.aten.convolution_backward(
                    grad,
                    x,
                    weight,
                    None,
                    (1, 1, 1),
                    padding,
                    (1, 1, 1),
                    False,
                    (0, 0, 0),
                    channels,
                    (False, True, False),
                )[1]
        return grad_input, grad_weight, None


def _temporal_weight_grad(x: torch.Tensor, grad: torch.Tensor, kernel: int) -> torch.Tensor:
    """The weight gradient of a channel-wise k×1×1 convolution: per temporal offset, the input
    shifted by it times the output gradient, summed over everything but the channel."""
    pad = kernel // 2
    channels, frames = x.shape[1], x.shape[2]
    # Channels last: summing over all other dimensions is a sum over rows of a (rows, C) matrix.
    padded = F.pad(x, (0, 0, 0, 0, pad, pad)).permute(0, 2, 3, 4, 1)
    output = grad.permute(0, 2, 3, 4, 1)
    product = torch.empty(output.shape, dtype=grad.dtype)
    weight_grad = grad.new_empty(kernel, channels)
    for offset in range(kernel):
        torch.mul(padded[:, offset : offset + frames], output, out=product)
        torch.sum(product.reshape(-1, channels), 0, out=weight_grad[offset])
    return weight_grad.t().reshape(channels, 1, kernel, 1, 1)


def with_torch_convolutions(model: nn.Module) -> nn.Module:
    """`model` with every `ChannelwiseConv3d` replaced, in place, by an `nn.Conv3d` holding the
    same weight: torch's own backward, to compare against."""
    for name, module in list(model.named_modules()):
        if isinstance(module, ChannelwiseConv3d):
            conv = nn.Conv3d(
                module.in_channels,
                module.out_channels,
                module.kernel_size,
                stride=module.stride,
                padding=module.padding,
                groups=module.groups,
                bias=False,
            )
            conv.weight = module.weight
            parent, _, attribute = name.rpartition(".")
            setattr(model.get_submodule(parent), attribute, conv)
    return model
