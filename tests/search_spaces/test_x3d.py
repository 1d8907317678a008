"""The X3D network against the paper: structure, complexity of every preset, the six axes."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from expansion.errors import ConfigError
from expansion.search.complexity import config_complexity
from search_spaces import get_space
from search_spaces.x3d import AXES, PRESETS, TEST_CROPS, X3D_SPACE, X3DConfig, build_x3d, summarize
from search_spaces.x3d.model import (
    Bottleneck,
    SqueezeExcite,
    round_width,
    stage_blocks,
    stage_widths,
)

# Reference §5 (paper Tables 2-4): GFLOPs at the training crop and params in millions.
PAPER_GFLOPS = {"X2D": 0.0207, "XS": 0.605, "S": 1.963, "M": 4.732, "L": 18.37, "XL": 35.84}
PAPER_TEST_GFLOPS = {"M": 6.19, "L": 24.8, "XL": 48.4}
PAPER_PARAMS_M = {"X2D": 1.63, "XS": 3.76, "S": 3.76, "M": 3.76, "L": 6.08, "XL": 11.0}


def within(value: float, expected: float, tolerance: float = 0.005) -> bool:
    return abs(value - expected) <= tolerance * expected


@pytest.mark.parametrize("name", PAPER_GFLOPS)
def test_preset_gflops_and_params_match_paper(name: str) -> None:
    complexity = config_complexity(X3D_SPACE, PRESETS[name])
    assert within(complexity.gflops, PAPER_GFLOPS[name]), complexity.gflops
    assert within(complexity.params_m, PAPER_PARAMS_M[name]), complexity.params_m


@pytest.mark.parametrize("name", PAPER_TEST_GFLOPS)
def test_three_crop_test_size_gflops_match_paper(name: str) -> None:
    config = replace(PRESETS[name], crop=TEST_CROPS[name])
    assert within(config_complexity(X3D_SPACE, config).gflops, PAPER_TEST_GFLOPS[name])


def test_x2d_multiply_adds_match_paper_text() -> None:
    # Paper §4.1: X2D has 20.67 M multiply-adds.
    assert abs(config_complexity(X3D_SPACE, PRESETS["X2D"]).multiply_adds / 1e6 - 20.67) < 0.05


def test_round_width_reproduces_reference_widths() -> None:
    assert stage_widths(2.0) == (24, 48, 96, 192)
    assert stage_widths(2.9) == (32, 72, 136, 280)
    assert round_width(12, 2.9) == 32  # XL stem
    assert round_width(54, 1 / 16) == 8  # SE floor
    assert round_width(630, 1 / 16) == 40


def test_xl_table_matches_reference() -> None:
    rows = {row.name: row for row in summarize(PRESETS["XL"])}
    assert rows["conv1"].width == 32
    assert [rows[f"res{i}"].inner for i in range(2, 6)] == [72, 162, 306, 630]
    assert rows["conv5"].width == 630
    assert [rows[f"res{i}"].blocks for i in range(2, 6)] == [5, 10, 25, 15]


def test_depth_rounding() -> None:
    assert stage_blocks(1.0) == (1, 2, 5, 3)
    assert stage_blocks(2.2) == (3, 5, 11, 7)
    assert stage_blocks(5.0) == (5, 10, 25, 15)


def test_summary_output_sizes_match_a_real_forward_pass() -> None:
    config = replace(PRESETS["XS"], crop=170)  # odd sizes on the way down
    model = build_x3d(config, num_classes=5).eval()
    outputs: list[tuple[int, ...]] = []
    hooks = [model.stem.register_forward_hook(lambda m, i, o: outputs.append(tuple(o.shape)))]
    hooks += [
        stage.register_forward_hook(lambda m, i, o: outputs.append(tuple(o.shape)))
        for stage in model.stages
    ]
    with torch.no_grad():
        model(torch.randn(1, 3, config.frames, config.crop, config.crop))
    for hook in hooks:
        hook.remove()
    rows = summarize(config)[:5]
    assert [(row.width, row.frames, row.size, row.size) for row in rows] == [o[1:] for o in outputs]


def test_block_structure_follows_the_paper() -> None:
    model = build_x3d(PRESETS["XS"])
    stem = model.stem
    assert stem.spatial.kernel_size == (1, 3, 3) and stem.spatial.stride == (1, 2, 2)
    assert stem.temporal.kernel_size == (5, 1, 1)
    assert stem.temporal.groups == stem.temporal.in_channels == 24
    for stage_index, stage in enumerate(model.stages):
        for block_index, block in enumerate(stage):
            assert isinstance(block, Bottleneck)
            assert block.conv_b.kernel_size == (3, 3, 3)
            assert block.conv_b.groups == block.conv_b.in_channels  # channel-wise
            assert block.conv_b.stride == ((1, 2, 2) if block_index == 0 else (1, 1, 1))
            assert isinstance(block.se, SqueezeExcite) == (block_index % 2 == 0)
            assert isinstance(block.swish, nn.SiLU)
            assert torch.count_nonzero(block.bn_c.weight) == 0
            assert isinstance(block.shortcut, nn.Sequential) == (block_index == 0), stage_index
    head = model.head
    assert head.conv5.out_channels == 432 and head.lin5.out_channels == 2048
    assert head.lin5.bias is None and head.fc.out_features == 400


def test_fresh_block_without_shortcut_is_the_identity() -> None:
    # Zero-initialised last BN: the residual branch adds nothing until it learns.
    block = build_x3d(PRESETS["XS"]).stages[0][1].eval()
    x = torch.rand(2, 24, 2, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), x)


@pytest.mark.parametrize("name", PRESETS)
def test_forward_and_backward_for_every_preset(name: str) -> None:
    config = PRESETS[name]
    if config.crop * config.frames > 160 * 4:  # keep the big ones affordable on a CPU
        config = replace(config, frames=4, crop=64)
    model = build_x3d(config, num_classes=7)
    clips = torch.randn(2, 3, config.frames, config.crop, config.crop)
    logits = model(clips)
    assert logits.shape == (2, 7)
    nn.functional.cross_entropy(logits, torch.tensor([1, 3])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.head.fc.weight.grad.abs().sum() > 0


def test_channels_last_3d_matches_contiguous() -> None:
    torch.manual_seed(0)
    model = build_x3d(PRESETS["XS"], num_classes=5, dropout=0.0)  # train-mode BN, no randomness
    clips = torch.randn(2, 3, 4, 96, 96)
    model.train()
    reference = model(clips)
    reference.sum().backward()
    reference_grad = model.stem.spatial.weight.grad.clone()
    model.zero_grad()
    model = model.to(memory_format=torch.channels_last_3d)
    output = model(clips.to(memory_format=torch.channels_last_3d))
    output.sum().backward()
    assert torch.allclose(output, reference, atol=1e-4, rtol=1e-4)
    assert torch.allclose(model.stem.spatial.weight.grad, reference_grad, atol=1e-3, rtol=1e-3)


def test_model_runs_at_other_clip_lengths_and_crops() -> None:
    model = build_x3d(PRESETS["XS"], num_classes=3).eval()
    with torch.no_grad():
        for frames, crop in [(4, 182), (10, 128), (1, 112)]:
            assert model(torch.randn(1, 3, frames, crop, crop)).shape == (1, 3)


@pytest.mark.parametrize("base", ["X2D", "XS"])
@pytest.mark.parametrize("axis", AXES)
def test_one_paper_step_roughly_doubles_gflops(base: str, axis: str) -> None:
    parent = PRESETS[base]
    child = AXES[axis].expand(parent)
    ratio = config_complexity(X3D_SPACE, child).gflops / config_complexity(X3D_SPACE, parent).gflops
    assert 1.6 <= ratio <= 2.6, (axis, child, ratio)


def test_paper_expansion_path_from_x2d_reaches_xs_exactly() -> None:
    # Paper Fig. 2: γb, γτ, γs, γd, γt take X2D to X3D-XS.
    config = PRESETS["X2D"]
    for axis in ["bottleneck", "frame_rate", "spatial", "depth", "temporal"]:
        config = AXES[axis].expand(config)
    assert config == PRESETS["XS"]


def test_axis_steps_change_only_their_own_quantities() -> None:
    xs = PRESETS["XS"]
    assert AXES["frame_rate"].expand(xs) == replace(xs, frames=8, stride=6)
    assert AXES["temporal"].expand(xs) == replace(xs, frames=8, stride=9)
    assert AXES["spatial"].expand(xs) == replace(xs, crop=224)
    assert AXES["bottleneck"].expand(xs) == replace(xs, bottleneck_factor=5.0625)
    assert AXES["depth"].expand(xs) == replace(xs, depth_factor=4.84)
    assert AXES["width"].expand(xs).width_factor == pytest.approx(2 * math.sqrt(2), rel=1e-5)


def test_frame_rate_keeps_duration_and_temporal_stretches_it() -> None:
    s = PRESETS["S"]
    faster = AXES["frame_rate"].apply(s, 1.5)
    assert faster.frames * faster.stride == pytest.approx(s.frames * s.stride, rel=1e-4)
    longer = AXES["temporal"].expand(s)
    assert longer.frames * longer.stride == pytest.approx(1.5 * s.frames * s.stride, rel=1e-2)


@pytest.mark.parametrize("axis", AXES)
def test_complexity_is_monotone_in_every_axis_factor(axis: str) -> None:
    factors = [0.3, 0.45, 0.6, 0.75, 0.9, 1.0, 1.2, 1.6, 2.3]
    gflops = [
        config_complexity(X3D_SPACE, AXES[axis].apply(PRESETS["S"], factor)).gflops
        for factor in factors
    ]
    assert gflops == sorted(gflops), gflops
    assert gflops[0] < gflops[-1]


@pytest.mark.parametrize("axis", AXES)
def test_contraction_builds_and_shrinks(axis: str) -> None:
    contracted = AXES[axis].apply(PRESETS["M"], 0.7)
    assert config_complexity(X3D_SPACE, contracted).gflops < PAPER_GFLOPS["M"]
    assert build_x3d(contracted, num_classes=2) is not None


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match="crop"):
        X3DConfig(4, 12, 0, 2.0, 2.25, 2.2)
    with pytest.raises(ConfigError, match="stride"):
        X3DConfig(4, -1, 160, 2.0, 2.25, 2.2)
    with pytest.raises(ConfigError, match="frames"):
        X3DConfig("4", 12, 160, 2.0, 2.25, 2.2)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="whole"):
        X3DConfig(4.5, 12, 160, 2.0, 2.25, 2.2)  # type: ignore[arg-type]


def test_space_round_trips_configs_and_rejects_unknown_fields() -> None:
    space = get_space("x3d")
    assert space.from_dict(space.to_dict(PRESETS["L"])) == PRESETS["L"]
    with pytest.raises(ConfigError, match="unknown fields \\['gamma'\\]"):
        space.from_dict({**space.to_dict(PRESETS["L"]), "gamma": 1})
    with pytest.raises(ConfigError, match="unknown search space"):
        get_space("resnet")
    view = space.input_view(PRESETS["S"])
    assert (view.frames, view.stride, view.crop) == (13, 6, 160)
    assert view.clip_shape(batch=2) == (2, 3, 13, 160, 160)
