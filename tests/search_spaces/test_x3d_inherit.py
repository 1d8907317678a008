"""X3D weight inheritance: function-preserving growth, identity blocks, data axes, contraction."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from random_weights import outputs, randomise

from search_spaces.x3d import AXES, PRESETS, X3DConfig, build_x3d
from search_spaces.x3d.inherit import transfer_weights

CLASSES = 16
PARENT = replace(PRESETS["XS"], frames=4, crop=64)


def parent_model() -> torch.nn.Module:
    return randomise(build_x3d(PARENT, CLASSES, dropout=0.0), seed=3)


def child_model(child: X3DConfig, **options: float) -> torch.nn.Module:
    state = transfer_weights(parent_model().state_dict(), child, CLASSES, **options)
    model = build_x3d(child, CLASSES, dropout=0.0)
    model.load_state_dict(state)  # strict: every tensor of the child, of the right shape
    return model.eval()


@pytest.mark.parametrize("axis", ["width", "bottleneck", "depth"])
def test_a_grown_child_computes_its_parents_function(axis: str) -> None:
    child = AXES[axis].expand(PARENT)
    assert sum(p.numel() for p in build_x3d(child, CLASSES).parameters()) > sum(
        p.numel() for p in parent_model().parameters()
    )
    expected = outputs(parent_model(), PARENT.frames, PARENT.crop)
    assert expected.abs().max() > 0.1  # random weights: the logits carry every tensor
    got = outputs(child_model(child), PARENT.frames, PARENT.crop)
    assert (got - expected).abs().max() <= 1e-4


@pytest.mark.parametrize("axis", ["spatial", "temporal", "frame_rate"])
def test_a_data_axis_child_takes_every_parent_tensor_as_it_is(axis: str) -> None:
    child = AXES[axis].expand(PARENT)
    parent = parent_model().state_dict()
    state = transfer_weights(parent, child, CLASSES)
    assert state.keys() == parent.keys()
    assert all(torch.equal(state[name], parent[name]) for name in parent)


def test_noise_breaks_the_copies_symmetry_a_little_and_is_seeded() -> None:
    child = AXES["width"].expand(PARENT)
    expected = outputs(parent_model(), PARENT.frames, PARENT.crop)
    first, again, other = (
        outputs(child_model(child, noise=0.01, seed=seed), PARENT.frames, PARENT.crop)
        for seed in (1, 1, 2)
    )
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert 0 < (first - expected).abs().max() < 0.05 * expected.abs().max()


def test_a_contraction_keeps_the_first_blocks_and_the_strongest_channels() -> None:
    smaller = replace(PARENT, width_factor=1.5, depth_factor=1.0)
    parent = parent_model().state_dict()
    state = transfer_weights(parent, smaller, CLASSES)
    build_x3d(smaller, CLASSES).load_state_dict(state)
    # the stem keeps the channels with the largest BN scales, in their order
    stem_width = state["stem.bn.weight"].numel()
    strongest = parent["stem.bn.weight"].abs().topk(stem_width).indices.sort().values
    assert torch.equal(state["stem.bn.weight"], parent["stem.bn.weight"][strongest])
    assert torch.equal(state["stem.spatial.weight"], parent["stem.spatial.weight"][strongest])
    # res5 had 7 blocks (depth 2.2), keeps its first 3
    assert "stages.3.2.conv_a.weight" in state and "stages.3.3.conv_a.weight" not in state
