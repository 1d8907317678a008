"""The channel-wise convolution's own backward against torch's `nn.Conv3d`."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from search_spaces.x3d.channelwise import ChannelwiseConv3d, with_torch_convolutions
from search_spaces.x3d.model import X3DConfig, build_x3d


def _reference(layer: ChannelwiseConv3d) -> nn.Module:
    return with_torch_convolutions(nn.Sequential(copy.deepcopy(layer)))[0]


def _gradients(layer: nn.Module, x: torch.Tensor, grad: torch.Tensor):
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad()
    out = layer(x)
    out.backward(grad)
    return out.detach(), x.grad, layer.weight.grad.clone()


@pytest.mark.parametrize("kernel", [(5, 1, 1), (3, 3, 3)])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
def test_gradients_equal_torch(kernel, stride, layout) -> None:
    torch.manual_seed(0)
    layer = ChannelwiseConv3d(6, kernel, stride)
    x = torch.randn(3, 6, 4, 10, 12).contiguous(memory_format=layout)
    out = layer(x)
    grad = torch.randn(out.shape).contiguous(memory_format=layout)
    if stride == 1:  # the layer's own backward, not torch's
        assert type(out.grad_fn).__name__ == "_ChannelwiseConvBackward"
    ours = _gradients(layer, x, grad)
    theirs = _gradients(_reference(layer), x, grad)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.shape == reference.shape
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-5)


def test_only_the_input_or_only_the_weight_needs_a_gradient() -> None:
    torch.manual_seed(0)
    layer = ChannelwiseConv3d(4, (3, 3, 3))
    x = torch.randn(2, 4, 3, 6, 6)
    layer.weight.requires_grad_(False)
    x_grad = torch.autograd.grad(layer(x.requires_grad_(True)).sum(), x)[0]
    expected = torch.autograd.grad(_reference(layer)(x).sum(), x)[0]
    torch.testing.assert_close(x_grad, expected)
    layer.weight.requires_grad_(True)
    weight_grad = torch.autograd.grad(layer(x.detach()).sum(), layer.weight)[0]
    reference = _reference(layer)
    torch.testing.assert_close(
        weight_grad, torch.autograd.grad(reference(x.detach()).sum(), reference.weight)[0]
    )


def test_a_training_step_of_x3d_matches_plain_convolutions() -> None:
    """The whole network's parameter gradients with the layer's backward and with torch's."""
    torch.manual_seed(0)
    config = X3DConfig(4, 6, 32, width_factor=1, bottleneck_factor=1, depth_factor=1)
    model = build_x3d(config, num_classes=5, dropout=0.0)
    plain = with_torch_convolutions(copy.deepcopy(model))
    assert not any(isinstance(module, ChannelwiseConv3d) for module in plain.modules())
    clips = torch.randn(2, 3, 4, 32, 32)
    labels = torch.tensor([1, 3])
    for network in (model, plain):
        nn.functional.cross_entropy(network(clips), labels).backward()
    for (name, ours), theirs in zip(model.named_parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-4, atol=1e-6, msg=name)
