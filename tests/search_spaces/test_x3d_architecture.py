"""`arch=auto`: the X3D configuration read from a checkpoint's tensor shapes and stored settings.

Only shapes matter, so the presets' state dicts are built on the meta device (XL's is 44 MB).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from expansion.errors import CheckpointError
from expansion.results.checkpoints import OwnNames, checkpoint_architecture
from search_spaces.base import CheckpointScheme
from search_spaces.x3d import PRESETS, X3D_SPACE, X3DConfig, build_x3d
from search_spaces.x3d.checkpoint_names import MMACTION2, PYTORCHVIDEO, SLOWFAST, to_scheme
from search_spaces.x3d.model import network_shape

NAMED = ["XS", "S", "M", "L", "XL"]
SCHEMES = [OwnNames(), PYTORCHVIDEO, SLOWFAST, MMACTION2]


def shapes_of(config: X3DConfig, scheme: CheckpointScheme) -> dict[str, torch.Tensor]:
    """The state dict of `config` under `scheme`'s names, as meta tensors."""
    with torch.device("meta"):
        state = build_x3d(config, num_classes=400).state_dict()
    if isinstance(scheme, OwnNames):
        return state
    return to_scheme(state, scheme)


def slowfast_cfg(config: X3DConfig) -> str:
    """What SlowFast's `cfg.dump()` stores of `config` (its other keys do not matter here)."""
    cfg: dict[str, Any] = {
        "DATA": {
            "NUM_FRAMES": config.frames,
            "SAMPLING_RATE": config.stride,
            "TRAIN_CROP_SIZE": config.crop,
            "TEST_CROP_SIZE": config.crop,
        },
        "MODEL": {"ARCH": "x3d", "NUM_CLASSES": 400},
        "X3D": {
            "WIDTH_FACTOR": config.width_factor,
            "BOTTLENECK_FACTOR": config.bottleneck_factor,
            "DEPTH_FACTOR": config.depth_factor,
        },
    }
    return yaml.safe_dump(cfg)


def read(document: dict[str, Any], state: dict[str, torch.Tensor], scheme) -> X3DConfig:
    return X3D_SPACE.architecture_from_checkpoint(document, state, scheme)


@pytest.mark.parametrize("name", NAMED)
def test_a_stored_slowfast_cfg_gives_the_whole_preset(name: str) -> None:
    preset = PRESETS[name]
    state = shapes_of(preset, SLOWFAST)

    assert read({"model_state": state, "cfg": slowfast_cfg(preset)}, state, SLOWFAST) == preset


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda scheme: scheme.name)
@pytest.mark.parametrize("name", NAMED)
def test_tensor_shapes_give_the_preset_or_name_the_candidates(name: str, scheme) -> None:
    preset = PRESETS[name]
    state = shapes_of(preset, scheme)

    if name in ("L", "XL"):  # the only presets with their network
        assert read({}, state, scheme) == preset
        return
    with pytest.raises(CheckpointError) as caught:
        read({}, state, scheme)
    assert str(caught.value) == (
        f"{scheme.name} checkpoint records no frames, stride or crop, and its network "
        "(width 2, bottleneck 2.25, depth 2.2) is that of presets XS, S, M: give arch= one of them"
    )


def test_factors_of_no_preset_are_found_from_the_shapes_alone() -> None:
    config = X3DConfig(8, 7, 96, width_factor=2.35, bottleneck_factor=1.8, depth_factor=1.3)
    state = shapes_of(config, PYTORCHVIDEO)

    with pytest.raises(CheckpointError) as caught:
        read({}, state, PYTORCHVIDEO)

    # 2.3 builds what 2.35 builds, and is the simplest factor that does.
    assert "(width 2.3, bottleneck 1.8, depth 1.3) is no preset's: give arch=FILE.yaml" in str(
        caught.value
    )
    found = replace(config, width_factor=2.3)
    assert network_shape(found) == network_shape(config)


def test_a_stored_cfg_whose_factors_do_not_build_the_tensors_yields_to_the_shapes() -> None:
    state = shapes_of(PRESETS["L"], SLOWFAST)
    stale = replace(PRESETS["L"], depth_factor=2.2)

    assert read({"cfg": slowfast_cfg(stale)}, state, SLOWFAST) == PRESETS["L"]


def test_shapes_no_factor_builds_are_refused() -> None:
    state = shapes_of(PRESETS["XS"], PYTORCHVIDEO)
    key = PYTORCHVIDEO.rename("stages.3.0.conv_c.weight")
    state[key] = torch.empty(196, 1, 1, 1, 1, device="meta")  # 196 is no multiple of 8

    with pytest.raises(CheckpointError, match=r"stem and stage widths 24, \(24, 48, 96, 196\)"):
        read({}, state, PYTORCHVIDEO)


def test_a_slowfast_file_with_its_cfg_needs_no_arch(tmp_path: Path) -> None:
    config = replace(PRESETS["XS"], frames=2, crop=32)
    state = to_scheme(build_x3d(config, num_classes=5).state_dict(), SLOWFAST)
    torch.save({"model_state": state, "cfg": slowfast_cfg(config), "epoch": 300}, tmp_path / "a")
    torch.save({"model_state": state, "cfg": "DATA: [unclosed"}, tmp_path / "b")

    assert checkpoint_architecture(tmp_path / "a", X3D_SPACE) == config
    with pytest.raises(CheckpointError, match=r"/b: its stored cfg is not YAML$"):
        checkpoint_architecture(tmp_path / "b", X3D_SPACE)
