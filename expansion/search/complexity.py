"""Model complexity in the X3D paper's convention.

GFLOPs are 10⁹ multiply-adds of convolution and linear (matrix-multiply) layers for one clip;
normalisation, activations and pooling are not counted. Params exclude normalisation layers.

Counting runs the model on meta tensors (shapes only, no arithmetic), so an X3D-XL is counted in
~0.15 s; `config_complexity` caches by network structure for the coordinator's repeated queries.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from search_spaces.base import SearchSpace

NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


@dataclass(frozen=True)
class Complexity:
    """Multiply-adds of one clip and parameters (normalisation layers excluded)."""

    multiply_adds: int
    params: int

    @property
    def gflops(self) -> float:
        return self.multiply_adds / 1e9

    @property
    def params_m(self) -> float:
        return self.params / 1e6


def count_params(model: nn.Module) -> int:
    """Parameters of `model`, not counting normalisation layers (the paper's convention)."""
    return sum(
        parameter.numel()
        for module in model.modules()
        if not isinstance(module, NORM_LAYERS)
        for parameter in module.parameters(recurse=False)
    )


@contextmanager
def _norm_layers_bypassed(model: nn.Module) -> Iterator[None]:
    """Let normalisation layers pass their input through while counting.

    They keep shapes and are not counted, and on meta tensors their decomposition costs ~10× the
    rest of the forward pass.
    """
    norms = [module for module in model.modules() if isinstance(module, NORM_LAYERS)]
    for module in norms:
        module.forward = nn.Identity.forward.__get__(module)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for module in norms:
            del module.forward


def count_multiply_adds(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of conv and matrix-multiply ops in one forward pass of `input_shape`.

    The model is run on meta tensors when its parameters are on the meta device, otherwise on
    its own device; the batch dimension of `input_shape` is counted as given.
    """
    device = next(model.parameters()).device
    example = torch.empty(tuple(input_shape), device=device)
    was_training = model.training
    model.eval()
    try:
        with (
            torch.no_grad(),
            _norm_layers_bypassed(model),
            FlopCounterMode(display=False) as counter,
        ):
            model(example)
    finally:
        model.train(was_training)
    # FlopCounterMode counts two flops (a multiply and an add) per multiply-add.
    return counter.get_total_flops() // 2


def measure(model: nn.Module, input_shape: Sequence[int]) -> Complexity:
    """Complexity of `model` on one input of `input_shape` (batch 1 for the paper's numbers)."""
    return Complexity(count_multiply_adds(model, input_shape), count_params(model))


def measure_config(space: SearchSpace, config: Any, num_classes: int = 400) -> Complexity:
    """Complexity of `config` in `space` on one clip of its input view, counted afresh."""
    with torch.device("meta"):
        model = space.build(config, num_classes, 0.0)
    return measure(model, space.input_view(config).clip_shape(batch=1))


_cache: dict[tuple[str, Hashable, int], Complexity] = {}


def config_complexity(space: SearchSpace, config: Any, num_classes: int = 400) -> Complexity:
    """`measure_config`, cached by the network `config` builds (`space.structure`)."""
    key = (space.name, space.structure(config), num_classes)
    if key not in _cache:
        _cache[key] = measure_config(space, config, num_classes)
    return _cache[key]


def gflops_of(space: SearchSpace, config: Any, num_classes: int = 400) -> float:
    """The GFLOPs of `config` (cached, see `config_complexity`)."""
    return config_complexity(space, config, num_classes).gflops
