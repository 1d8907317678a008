"""Complexity counting against fvcore and against hand-computed multiply-adds."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from expansion.search.complexity import config_complexity, count_params, measure, measure_config
from search_spaces.x3d import PRESETS, X3D_SPACE, build_x3d


def test_counts_match_hand_computation_for_a_small_network() -> None:
    model = nn.Sequential(
        nn.Conv3d(3, 8, (3, 3, 3), stride=(1, 2, 2), padding=1, bias=False),
        nn.BatchNorm3d(8),
        nn.Conv3d(8, 8, 3, padding=1, groups=8),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )
    complexity = measure(model, (1, 3, 4, 16, 16))
    outputs = 4 * 8 * 8  # T × H × W after the strided conv
    expected = outputs * 8 * 3 * 27 + outputs * 8 * 1 * 27 + 8 * 5
    assert complexity.multiply_adds == expected
    conv_params = 8 * 3 * 27 + (8 * 27 + 8)
    assert complexity.params == conv_params + 8 * 5 + 5  # BatchNorm's 16 are left out


def test_batch_dimension_is_counted_as_given() -> None:
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.Flatten(), nn.Linear(4 * 8, 2))
    single = measure(model, (1, 3, 2, 2, 2)).multiply_adds
    assert measure(model, (3, 3, 2, 2, 2)).multiply_adds == 3 * single


@pytest.mark.parametrize(
    "config", [PRESETS["X2D"], replace(PRESETS["XS"], crop=112), replace(PRESETS["XL"], crop=64)]
)
def test_conv_and_linear_counts_agree_with_fvcore(config) -> None:
    from fvcore.nn import FlopCountAnalysis

    model = build_x3d(config).eval()
    clip = torch.randn(X3D_SPACE.input_view(config).clip_shape(batch=1))
    analysis = FlopCountAnalysis(model, clip)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    per_operator = analysis.by_operator()
    assert per_operator["batch_norm"] > 0  # fvcore counts BN; the paper does not
    fvcore_conv_linear = per_operator["conv"] + per_operator["linear"]
    assert measure(model, clip.shape).multiply_adds == fvcore_conv_linear


def test_meta_device_count_equals_real_count() -> None:
    config = replace(PRESETS["S"], crop=96)
    real = measure(build_x3d(config), X3D_SPACE.input_view(config).clip_shape())
    assert config_complexity(X3D_SPACE, config) == real


def test_params_exclude_batch_norm() -> None:
    model = build_x3d(PRESETS["XS"])
    norm_params = sum(
        p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm3d) for p in m.parameters()
    )
    assert count_params(model) == sum(p.numel() for p in model.parameters()) - norm_params
    # Reference §5: built models have 3.794 M params with BN, 3.76 M without.
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 3) == 3.794


def test_counting_leaves_the_model_as_it_was() -> None:
    model = build_x3d(replace(PRESETS["XS"], crop=64)).train()
    clips = torch.randn(2, 3, 4, 64, 64)
    measure(model, clips.shape)
    assert model.training
    assert "forward" not in vars(model.stem.bn)  # the pass-through is removed again
    running_mean = model.stem.bn.running_mean.clone()
    model(clips)
    assert not torch.equal(model.stem.bn.running_mean, running_mean)  # BN works normally


def test_complexity_is_cached_per_network_structure() -> None:
    config = replace(PRESETS["M"], crop=200)
    first = config_complexity(X3D_SPACE, config)
    assert config_complexity(X3D_SPACE, config) is first
    # Factors that round to the same widths and blocks build the same network.
    same_network = replace(config, width_factor=2.01, depth_factor=2.1)
    assert X3D_SPACE.structure(same_network) == X3D_SPACE.structure(config)
    assert config_complexity(X3D_SPACE, same_network) is first
    assert measure_config(X3D_SPACE, same_network) == first
    assert config_complexity(X3D_SPACE, replace(config, depth_factor=2.3)).gflops > first.gflops
    assert config_complexity(X3D_SPACE, config, num_classes=10).gflops < first.gflops
