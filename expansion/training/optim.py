"""SGD for X3D: linearly batch-scaled learning rate, weight decay on conv and linear weights only.

Normalisation parameters (BN scale and shift) get no decay, as in the paper's recipe; biases
(SE convs, the classifier) get none either, since decaying a bias does not regularise the
function's complexity and only pulls activations toward zero.
"""

from __future__ import annotations

import torch
from torch import nn

# The recipe's learning rates are given per this many clips and scaled linearly with the batch.
REFERENCE_BATCH = 128
DECAYED_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def scaled_lr(lr_per_128: float, batch_size: int) -> float:
    """`lr_per_128` scaled linearly to a batch of `batch_size` clips."""
    return lr_per_128 * batch_size / REFERENCE_BATCH


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Two groups: conv/linear weights with `weight_decay`, every other parameter without."""
    decayed = {
        id(module.weight)
        for module in model.modules()
        if isinstance(module, DECAYED_LAYERS) and module.weight is not None
    }
    parameters = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in parameters if id(p) in decayed], "weight_decay": weight_decay},
        {"params": [p for p in parameters if id(p) not in decayed], "weight_decay": 0.0},
    ]


def build_sgd(
    model: nn.Module, momentum: float, nesterov: bool, weight_decay: float
) -> torch.optim.SGD:
    """SGD with momentum over `param_groups`; the schedule sets the rate before every step."""
    return torch.optim.SGD(
        param_groups(model, weight_decay), lr=0.0, momentum=momentum, nesterov=nesterov
    )
