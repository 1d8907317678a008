"""Parameter names of X3D in the other codebases whose checkpoints we read (pytorchvideo, SlowFast,
mmaction2).

Each scheme renames the project's state-dict keys (`stem.spatial.weight`,
`stages.<s>.<b>.conv_a.weight`, `head.fc.bias`, …) into another implementation's keys. Loading
inverts the renaming over the keys of the model being filled, so one table per codebase serves
both directions. Layer names were checked against the published sources: pytorchvideo 0.1.5
`models/x3d.py`, `models/resnet.py`, `models/stem.py`, `models/head.py`; SlowFast
`models/video_model_builder.py` (X3D), `stem_helper.py` (X3DStem), `resnet_helper.py`
(ResBlock, X3DTransform), `operators.py` (SE), `head_helper.py` (X3DHead); mmaction2 1.2.0
`models/backbones/x3d.py` (X3D, BlockX3D, SEModule; mmcv's ConvModule names its parts `conv` and
`bn`) and `models/heads/x3d_head.py` (X3DHead), and numerically against that backbone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class NameScheme:
    """How one codebase names the layers of an X3D network.

    `modules` renames the stem and head modules; a block's module `<layer>` in stage `s`, block
    `b` becomes `block_prefix.format(stage=s + stage_offset, block=b)` + `block_layers[layer]`.
    `identity_bns` lists our BatchNorm modules that this codebase leaves out (an identity there);
    `linear_convs` our 1×1×1 convs after the global pool that it holds as Linear layers (the same
    weight without the three trailing unit dimensions).
    """

    name: str
    modules: Mapping[str, str]
    block_prefix: str
    stage_offset: int
    block_layers: Mapping[str, str]
    identity_bns: tuple[str, ...] = field(default=())
    linear_convs: tuple[str, ...] = field(default=())

    def rename(self, key: str) -> str:
        """This scheme's name for one of our state-dict keys."""
        module, parameter = key.rsplit(".", 1)
        if module.startswith("stages."):
            _, stage, block, layer = module.split(".", 3)
            prefix = self.block_prefix.format(stage=int(stage) + self.stage_offset, block=block)
            return f"{prefix}{self.block_layers[layer]}.{parameter}"
        return f"{self.modules[module]}.{parameter}"

    def names(self, keys: Iterable[str]) -> dict[str, str]:
        """Our keys → this scheme's keys."""
        return {key: self.rename(key) for key in keys}

    def to_ours(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """This codebase's tensor for our `key`, in our layout."""
        if key.rsplit(".", 1)[0] in self.linear_convs and value.dim() == 2:
            return value[:, :, None, None, None]
        return value

    def to_theirs(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """Our tensor for `key`, in this codebase's layout."""
        if key.rsplit(".", 1)[0] in self.linear_convs:
            return value.flatten(1)
        return value


# pytorchvideo `create_x3d`: Net.blocks = [stem, res2..res5, head]. Its stem names the 1×3×3
# spatial conv `conv_t` and the 5×1×1 temporal conv `conv_xy` (sic). SE lives inside `norm_b`.
# Its res2 block 0 keeps width (24 → 24), and pytorchvideo adds the shortcut BN only when the
# width changes, so that shortcut is a bare strided conv: our BN there loads as an identity.
PYTORCHVIDEO = NameScheme(
    name="pytorchvideo",
    modules={
        "stem.spatial": "blocks.0.conv.conv_t",
        "stem.temporal": "blocks.0.conv.conv_xy",
        "stem.bn": "blocks.0.norm",
        "head.conv5": "blocks.5.pool.pre_conv",
        "head.bn5": "blocks.5.pool.pre_norm",
        "head.lin5": "blocks.5.pool.post_conv",
        "head.fc": "blocks.5.proj",
    },
    block_prefix="blocks.{stage}.res_blocks.{block}.",
    stage_offset=1,
    block_layers={
        "conv_a": "branch2.conv_a",
        "bn_a": "branch2.norm_a",
        "conv_b": "branch2.conv_b",
        "bn_b": "branch2.norm_b.0",
        "se.reduce": "branch2.norm_b.1.block.0",
        "se.expand": "branch2.norm_b.1.block.2",
        "conv_c": "branch2.conv_c",
        "bn_c": "branch2.norm_c",
        "shortcut.0": "branch1_conv",
        "shortcut.1": "branch1_norm",
    },
    identity_bns=("stages.0.0.shortcut.1",),
)

# SlowFast `X3D`: stem `s1`, stages `s2`..`s5` (single pathway 0), head `head`.
SLOWFAST = NameScheme(
    name="SlowFast",
    modules={
        "stem.spatial": "s1.pathway0_stem.conv_xy",
        "stem.temporal": "s1.pathway0_stem.conv",
        "stem.bn": "s1.pathway0_stem.bn",
        "head.conv5": "head.conv_5",
        "head.bn5": "head.conv_5_bn",
        "head.lin5": "head.lin_5",
        "head.fc": "head.projection",
    },
    block_prefix="s{stage}.pathway0_res{block}.",
    stage_offset=2,
    block_layers={
        "conv_a": "branch2.a",
        "bn_a": "branch2.a_bn",
        "conv_b": "branch2.b",
        "bn_b": "branch2.b_bn",
        "se.reduce": "branch2.se.fc1",
        "se.expand": "branch2.se.fc2",
        "conv_c": "branch2.c",
        "bn_c": "branch2.c_bn",
        "shortcut.0": "branch1",
        "shortcut.1": "branch1_bn",
    },
)


# mmaction2 `Recognizer3D`: `backbone` (X3D) and `cls_head` (X3DHead). Its backbone ends with
# conv5 (conv, BN, ReLU); its head pools globally, then `fc1` (Linear, no bias: our lin5), ReLU,
# dropout and `fc2` (our fc). Every first block has a downsample conv with BN (spatial stride 2).
MMACTION2 = NameScheme(
    name="mmaction2",
    modules={
        "stem.spatial": "backbone.conv1_s.conv",
        "stem.temporal": "backbone.conv1_t.conv",
        "stem.bn": "backbone.conv1_t.bn",
        "head.conv5": "backbone.conv5.conv",
        "head.bn5": "backbone.conv5.bn",
        "head.lin5": "cls_head.fc1",
        "head.fc": "cls_head.fc2",
    },
    block_prefix="backbone.layer{stage}.{block}.",
    stage_offset=1,
    block_layers={
        "conv_a": "conv1.conv",
        "bn_a": "conv1.bn",
        "conv_b": "conv2.conv",
        "bn_b": "conv2.bn",
        "se.reduce": "se_module.fc1",
        "se.expand": "se_module.fc2",
        "conv_c": "conv3.conv",
        "bn_c": "conv3.bn",
        "shortcut.0": "downsample.conv",
        "shortcut.1": "downsample.bn",
    },
    linear_convs=("head.lin5",),
)


def to_scheme(state: Mapping[str, torch.Tensor], scheme: NameScheme) -> dict[str, torch.Tensor]:
    """Our state dict under `scheme`'s names and layouts (e.g. to hand a model to SlowFast)."""
    return {scheme.rename(key): scheme.to_theirs(key, value) for key, value in state.items()}
