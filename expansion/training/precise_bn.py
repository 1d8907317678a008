"""Precise BatchNorm: running statistics recomputed with the final weights (reference §7).

During training BN keeps an exponential average of batch statistics taken under weights that
kept changing. Before the final evaluation `recompute_bn_stats` replaces it with the plain
average, over `num_batches` training batches, of each batch's mean and (unbiased) variance under
the final weights, as SlowFast's precise BN does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from expansion.training import runtime
from expansion.training.loop import Batch


@torch.no_grad()
def recompute_bn_stats(
    model: nn.Module, batches: Iterable[Batch], num_batches: int, device: torch.device
) -> int:
    """Set every BN's running statistics to the average over the first `num_batches` batches.

    Returns how many batches were used (fewer if `batches` runs out first); with none, the
    statistics are left as they were. The model's train/eval mode is restored afterwards.
    """
    norms = [module for module in model.modules() if isinstance(module, _BatchNorm)]
    batches = iter(batches)
    first = next(batches, None) if num_batches > 0 and norms else None
    if first is None:
        return 0
    momenta = [norm.momentum for norm in norms]
    was_training = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: batch k weighs 1/k
    model.train()
    used = 0
    try:
        for inputs, _, _ in itertools.chain([first], itertools.islice(batches, num_batches - 1)):
            with runtime.autocast(device):
                model(runtime.to_device(inputs, device))
            used += 1
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        model.train(was_training)
    return used
