"""mmaction2's X3D checkpoints: made by its own backbone, they load strictly and give its outputs;
ours export to its format and load into its backbone. Skipped without mmaction2.

mmaction2's `mmaction.models` package does not import from the 1.2.0 wheel, so the backbone file
is imported on its own by path; its head (`X3DHead`) is four lines, written out beside it.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from random_weights import outputs, randomise
from torch import nn

from expansion.errors import CheckpointError, ConfigError
from expansion.results.checkpoints import checkpoint_architecture, load_checkpoint, save_checkpoint
from search_spaces.x3d import PRESETS, X3D_SPACE, X3DConfig, build_x3d
from search_spaces.x3d.mmaction2 import main, mmaction2_model, save_mmaction2

FRAMES, CROP, CLASSES = 4, 64, 10
BACKBONE_MODULE = "mmaction2_x3d_backbone"


@pytest.fixture(scope="module")
def backbone_class() -> type[nn.Module]:
    """mmaction2's `X3D` backbone class, from its file (imported once: it registers itself)."""
    mmaction = pytest.importorskip("mmaction")
    if BACKBONE_MODULE not in sys.modules:
        path = Path(mmaction.__file__).parent / "models" / "backbones" / "x3d.py"
        spec = importlib.util.spec_from_file_location(BACKBONE_MODULE, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[BACKBONE_MODULE] = module
    return sys.modules[BACKBONE_MODULE].X3D


class X3DHead(nn.Module):
    """mmaction2 1.2.0's `X3DHead.forward`: global average pool, `fc1`, ReLU, dropout, `fc2`."""

    def __init__(self, in_channels: int, num_classes: int, fc1_bias: bool = False) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc1 = nn.Linear(in_channels, 2048, bias=fc1_bias)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=0.5)
        self.fc2 = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        x = x.view(x.shape[0], -1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class Recognizer(nn.Module):
    """mmaction2's `Recognizer3D` at test time: the backbone's features through the head."""

    def __init__(self, backbone: nn.Module, cls_head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.cls_head = cls_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls_head(self.backbone(x))


def recognizer(
    backbone_class: type[nn.Module], gamma_w: float, gamma_b: float, gamma_d: float, **head: Any
) -> Recognizer:
    backbone = backbone_class(gamma_w=gamma_w, gamma_b=gamma_b, gamma_d=gamma_d)
    return Recognizer(backbone, X3DHead(backbone.feat_dim, CLASSES, **head))


def save_theirs(model: nn.Module, path: Path) -> Path:
    """A checkpoint laid out as mmaction2 writes them: `meta` beside the `state_dict`."""
    torch.save({"meta": {"mmengine_version": "0.10.7"}, "state_dict": model.state_dict()}, path)
    return path


@pytest.mark.parametrize(
    ("gammas", "config"),
    [
        ((1.0, 2.25, 2.2), PRESETS["S"]),  # x3d_s_13x6x1: also XS's and M's network
        ((1.0, 2.25, 5.0), PRESETS["L"]),
        ((1.0, 1.0, 1.0), PRESETS["X2D"]),
    ],
    ids=["S", "L", "X2D"],
)
def test_its_checkpoints_give_its_outputs(
    backbone_class, gammas: tuple[float, float, float], config: X3DConfig, tmp_path: Path
) -> None:
    theirs = randomise(recognizer(backbone_class, *gammas))
    path = save_theirs(theirs, tmp_path / "x3d.pth")

    loaded = load_checkpoint(path, X3D_SPACE, config)

    assert loaded.source == "mmaction2"
    expected = outputs(theirs, FRAMES, CROP)
    torch.testing.assert_close(outputs(loaded.model, FRAMES, CROP), expected, rtol=1e-4, atol=1e-5)


def test_auto_reads_l_and_names_the_presets_it_cannot_tell_apart(
    backbone_class, tmp_path: Path
) -> None:
    large = save_theirs(recognizer(backbone_class, 1.0, 2.25, 5.0), tmp_path / "l.pth")
    small = save_theirs(recognizer(backbone_class, 1.0, 2.25, 2.2), tmp_path / "s.pth")

    assert checkpoint_architecture(large, X3D_SPACE) == PRESETS["L"]
    with pytest.raises(CheckpointError, match="is that of presets XS, S, M: give arch="):
        checkpoint_architecture(small, X3D_SPACE)


def test_a_width_its_rounding_gives_reads_as_another_width_factor(
    backbone_class, tmp_path: Path
) -> None:
    # gamma_w=1.45 rounds the stem to 32 and doubles it: 32, 64, 128, 256. SlowFast's factor 2.9
    # would give 32, 72, 136, 280; our factor 2.7 gives mmaction2's widths.
    theirs = randomise(recognizer(backbone_class, 1.45, 2.25, 2.2))
    path = save_theirs(theirs, tmp_path / "wide.pth")

    with pytest.raises(CheckpointError, match=r"\(width 2.7, bottleneck 2.25, depth 2.2\)"):
        checkpoint_architecture(path, X3D_SPACE)
    loaded = load_checkpoint(path, X3D_SPACE, X3DConfig(FRAMES, 6, CROP, 2.7, 2.25, 2.2))

    expected = outputs(theirs, FRAMES, CROP)
    torch.testing.assert_close(outputs(loaded.model, FRAMES, CROP), expected, rtol=1e-4, atol=1e-5)


def test_a_mismatch_is_named_in_one_line(backbone_class, tmp_path: Path) -> None:
    path = save_theirs(recognizer(backbone_class, 1.0, 2.25, 2.2, fc1_bias=True), tmp_path / "b")

    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path, X3D_SPACE, PRESETS["S"])

    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(
        "mmaction2 checkpoint does not fit X3D (width 2.0, bottleneck 2.25, "
        "depth 2.2): 1 unexpected keys (cls_head.fc1.bias)"
    )


def test_export_loads_into_its_network_and_reads_back(backbone_class, tmp_path: Path) -> None:
    config = PRESETS["XS"]
    ours = randomise(build_x3d(config, CLASSES))

    settings = save_mmaction2(tmp_path / "xs.pth", ours, config)

    assert settings["backbone"] == {"type": "X3D", "gamma_w": 1.0, "gamma_b": 2.25, "gamma_d": 2.2}
    assert settings["cls_head"] == {"type": "X3DHead", "in_channels": 432, "num_classes": CLASSES}
    document = torch.load(tmp_path / "xs.pth", weights_only=True)
    theirs = recognizer(backbone_class, 1.0, 2.25, 2.2)
    theirs.load_state_dict(document["state_dict"])  # strict
    expected = outputs(ours, FRAMES, CROP)
    torch.testing.assert_close(outputs(theirs, FRAMES, CROP), expected, rtol=1e-4, atol=1e-5)
    # `meta` keeps the view, which the tensors do not fix.
    assert checkpoint_architecture(tmp_path / "xs.pth", X3D_SPACE) == config


def test_widths_it_cannot_build_are_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        mmaction2_model(PRESETS["XL"], CLASSES)

    assert str(caught.value) == (
        "width factor 2.9 gives stage widths (32, 72, 136, 280), not the stem's 32 × 1, 2, 4, 8: "
        "mmaction2's X3D cannot build that network"
    )


def test_the_command_converts_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = replace(PRESETS["X2D"], crop=32)
    save_checkpoint(tmp_path / "own.pt", X3D_SPACE, build_x3d(tiny, CLASSES), tiny)
    save_checkpoint(tmp_path / "xl.pt", X3D_SPACE, build_x3d(PRESETS["XL"], CLASSES), PRESETS["XL"])

    main([str(tmp_path / "own.pt"), str(tmp_path / "x2d.pth")])
    with pytest.raises(SystemExit) as refused:
        main([str(tmp_path / "xl.pt"), str(tmp_path / "xl.pth")])

    printed = capsys.readouterr()
    assert "backbone=dict(type='X3D', gamma_w=1.0, gamma_b=1.0, gamma_d=1.0)," in printed.out
    assert "cls_head=dict(type='X3DHead', in_channels=192, num_classes=10)," in printed.out
    assert load_checkpoint(tmp_path / "x2d.pth", X3D_SPACE).config == tiny
    assert refused.value.code == 2
    assert printed.err.count("\n") == 1 and "cannot build that network" in printed.err
    assert not (tmp_path / "xl.pth").exists()
