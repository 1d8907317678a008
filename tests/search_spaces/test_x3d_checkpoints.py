"""Checkpoints: each format loads strictly and reproduces its source network; mismatches fail.

pytorchvideo's X3D is the independent implementation the name mapping is checked against
numerically (skipped when pytorchvideo is absent). SlowFast is not installable, so its mapping is
checked against layer names read from its published source and by round trips.
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from random_weights import outputs, randomise
from torch import nn

from expansion.errors import CheckpointError
from expansion.results.checkpoints import load_checkpoint, save_checkpoint
from search_spaces.x3d import PRESETS, X3D, X3D_SPACE, build_x3d
from search_spaces.x3d.checkpoint_names import PYTORCHVIDEO, SLOWFAST, to_scheme
from search_spaces.x3d.checkpoints import load_x3d

XS = PRESETS["XS"]
# XS weights see a smaller clip than XS trains on, to keep CPU forwards quick; crops only change
# the pooled feature size, not the weights.
CLIP_FRAMES, CLIP_CROP = XS.frames, 64
# A cheap network of the same family for tests that only need some X3D: 1 frame, 32 pixels.
TINY = replace(PRESETS["X2D"], crop=32)


def error_of(path: Path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_x3d(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def xs_model() -> X3D:
    return randomise(build_x3d(XS, num_classes=7))


@pytest.fixture(scope="module")
def create_x3d():
    """pytorchvideo's X3D builder. Its `models` package imports torchvision's RoIAlign for
    detection heads only; without torchvision a stand-in lets the X3D builder import."""
    pytest.importorskip("pytorchvideo")
    patch = pytest.MonkeyPatch()
    if importlib.util.find_spec("torchvision") is None:
        stand_in = types.ModuleType("torchvision")
        stand_in.ops = types.ModuleType("torchvision.ops")
        stand_in.ops.RoIAlign = None
        patch.setitem(sys.modules, "torchvision", stand_in)
        patch.setitem(sys.modules, "torchvision.ops", stand_in.ops)
    try:
        return importlib.import_module("pytorchvideo.models.x3d").create_x3d
    finally:
        patch.undo()


def test_pytorchvideo_checkpoint_reproduces_its_network(create_x3d, tmp_path: Path) -> None:
    theirs = create_x3d(
        input_clip_length=CLIP_FRAMES,
        input_crop_size=CLIP_CROP,
        width_factor=XS.width_factor,
        depth_factor=XS.depth_factor,
        bottleneck_factor=XS.bottleneck_factor,
        model_num_class=10,
        head_activation=None,  # logits; its fixed head pool equals ours at the built clip size
    )
    randomise(theirs)
    state = theirs.state_dict()
    assert "blocks.1.res_blocks.0.branch1_norm.weight" not in state  # loads as an identity BN
    torch.save({"model_state": state}, tmp_path / "wrapped.pyth")
    torch.save(state, tmp_path / "bare.pt")

    ours = load_x3d(tmp_path / "wrapped.pyth", XS)

    expected = outputs(theirs, CLIP_FRAMES, CLIP_CROP)
    assert ours.head.fc.out_features == 10
    torch.testing.assert_close(
        outputs(ours, CLIP_FRAMES, CLIP_CROP), expected, rtol=1e-4, atol=1e-5
    )
    bare = load_x3d(tmp_path / "bare.pt", XS).state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(bare[key], value), key


def test_slowfast_checkpoint_round_trip(xs_model: X3D, tmp_path: Path) -> None:
    # DataParallel's prefix, as in SlowFast checkpoints saved from multi-GPU runs; BN batch
    # counters left out, as in checkpoints converted from Caffe2.
    state = {
        f"module.{key}": value
        for key, value in to_scheme(xs_model.state_dict(), SLOWFAST).items()
        if not key.endswith("num_batches_tracked")
    }
    torch.save({"model_state": state, "cur_epoch": 0}, tmp_path / "x3d_xs.pyth")

    loaded = load_checkpoint(tmp_path / "x3d_xs.pyth", X3D_SPACE, XS, num_classes=7)

    assert loaded.source == "SlowFast"
    torch.testing.assert_close(
        outputs(loaded.model, CLIP_FRAMES, CLIP_CROP), outputs(xs_model, CLIP_FRAMES, CLIP_CROP)
    )


# X3D-XS under SlowFast's names and shapes, written out from its source (stem_helper.X3DStem,
# resnet_helper.ResBlock/X3DTransform, operators.SE, head_helper.X3DHead, X3D in
# video_model_builder): stem 24, res2 24 (inner 54), SE width 8, conv5 432, lin5 2048.
SLOWFAST_XS = {
    "s1.pathway0_stem.conv_xy.weight": (24, 3, 1, 3, 3),
    "s1.pathway0_stem.conv.weight": (24, 1, 5, 1, 1),
    "s1.pathway0_stem.bn.running_var": (24,),
    "s2.pathway0_res0.branch1.weight": (24, 24, 1, 1, 1),
    "s2.pathway0_res0.branch1_bn.bias": (24,),
    "s2.pathway0_res0.branch2.a.weight": (54, 24, 1, 1, 1),
    "s2.pathway0_res0.branch2.a_bn.weight": (54,),
    "s2.pathway0_res0.branch2.b.weight": (54, 1, 3, 3, 3),
    "s2.pathway0_res0.branch2.b_bn.running_mean": (54,),
    "s2.pathway0_res0.branch2.se.fc1.weight": (8, 54, 1, 1, 1),
    "s2.pathway0_res0.branch2.se.fc2.bias": (54,),
    "s2.pathway0_res0.branch2.c.weight": (24, 54, 1, 1, 1),
    "s2.pathway0_res0.branch2.c_bn.weight": (24,),
    "s2.pathway0_res2.branch2.se.fc1.bias": (8,),
    "s3.pathway0_res0.branch1.weight": (48, 24, 1, 1, 1),
    "s4.pathway0_res10.branch2.b.weight": (216, 1, 3, 3, 3),
    "s5.pathway0_res6.branch2.c.weight": (192, 432, 1, 1, 1),
    "head.conv_5.weight": (432, 192, 1, 1, 1),
    "head.conv_5_bn.running_mean": (432,),
    "head.lin_5.weight": (2048, 432, 1, 1, 1),
    "head.projection.weight": (7, 2048),
    "head.projection.bias": (7,),
}
SLOWFAST_XS_ABSENT = (
    "s2.pathway0_res1.branch1.weight",  # same width, stride 1: identity shortcut
    "s2.pathway0_res1.branch2.se.fc1.weight",  # SE only on blocks 0, 2, 4, …
    "s2.pathway0_res3.branch2.a.weight",  # res2 has 3 blocks
    "head.lin_5_bn.weight",  # BN_LIN5 is off for X3D
)
PYTORCHVIDEO_XS = {
    "blocks.0.conv.conv_t.weight": (24, 3, 1, 3, 3),
    "blocks.0.conv.conv_xy.weight": (24, 1, 5, 1, 1),
    "blocks.0.norm.weight": (24,),
    "blocks.1.res_blocks.0.branch1_conv.weight": (24, 24, 1, 1, 1),
    "blocks.1.res_blocks.0.branch2.norm_b.0.weight": (54,),
    "blocks.1.res_blocks.0.branch2.norm_b.1.block.0.weight": (8, 54, 1, 1, 1),
    "blocks.1.res_blocks.0.branch2.norm_b.1.block.2.bias": (54,),
    "blocks.2.res_blocks.0.branch1_norm.running_var": (48,),
    "blocks.4.res_blocks.6.branch2.norm_c.bias": (192,),
    "blocks.5.pool.pre_conv.weight": (432, 192, 1, 1, 1),
    "blocks.5.pool.pre_norm.running_var": (432,),
    "blocks.5.pool.post_conv.weight": (2048, 432, 1, 1, 1),
    "blocks.5.proj.weight": (7, 2048),
}


@pytest.mark.parametrize(
    ("scheme", "present", "absent"),
    [(SLOWFAST, SLOWFAST_XS, SLOWFAST_XS_ABSENT), (PYTORCHVIDEO, PYTORCHVIDEO_XS, ())],
    ids=["SlowFast", "pytorchvideo"],
)
def test_names_follow_the_published_layout(xs_model: X3D, scheme, present, absent) -> None:
    shapes = {
        key: tuple(value.shape) for key, value in to_scheme(xs_model.state_dict(), scheme).items()
    }
    assert {key: shapes.get(key) for key in present} == present
    assert not set(absent) & set(shapes)


def test_pytorchvideo_shortcut_without_bn_loads_as_identity(tmp_path: Path) -> None:
    model = randomise(build_x3d(TINY, num_classes=3))
    state = to_scheme(model.state_dict(), PYTORCHVIDEO)
    bn_keys = [key for key in state if key.startswith("blocks.1.res_blocks.0.branch1_norm.")]
    assert len(bn_keys) == 5
    torch.save(
        {"model_state": {k: v for k, v in state.items() if k not in bn_keys}}, tmp_path / "p"
    )

    loaded = load_x3d(tmp_path / "p", TINY)

    features = torch.randn(2, 24, 1, 8, 8)
    bn = loaded.stages[0][0].shortcut[1].eval()
    torch.testing.assert_close(bn(features), features)


def test_own_checkpoint_round_trip_keeps_config_and_extra(tmp_path: Path) -> None:
    model = randomise(build_x3d(TINY, num_classes=5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for parameter in model.parameters():  # a step, so the optimizer has momentum state
        parameter.grad = torch.ones_like(parameter)
    optimizer.step()
    path = tmp_path / "last.pt"

    save_checkpoint(
        path,
        X3D_SPACE,
        nn.DataParallel(model),
        TINY,
        {"epoch": 3, "optimizer": optimizer.state_dict()},
    )
    loaded = load_checkpoint(path, X3D_SPACE)

    assert (loaded.config, loaded.source, loaded.extra["epoch"]) == (TINY, "expansion", 3)
    torch.testing.assert_close(outputs(loaded.model, 1, 32), outputs(model, 1, 32))
    resumed = torch.optim.SGD(loaded.model.parameters(), lr=0.1, momentum=0.9)
    resumed.load_state_dict(loaded.extra["optimizer"])
    assert not list(tmp_path.glob("*.partial"))


def test_checkpoint_of_another_depth_names_missing_keys(xs_model: X3D, tmp_path: Path) -> None:
    path = tmp_path / "x3d_xs.pyth"
    torch.save({"model_state": to_scheme(xs_model.state_dict(), SLOWFAST)}, path)

    message = error_of(path, config=PRESETS["L"])

    assert "depth 5.0" in message
    assert "missing keys (s2.pathway0_res3." in message
    missing = int(message.split(" missing keys")[0].rsplit(" ", 1)[1])
    assert missing > 100  # L's extra blocks: 2 + 5 + 14 + 8 of them


def test_checkpoint_of_another_width_names_shapes(xs_model: X3D, tmp_path: Path) -> None:
    path = tmp_path / "x3d_xs.pt"
    save_checkpoint(path, X3D_SPACE, xs_model, XS)

    message = error_of(path, config=replace(XS, width_factor=2.9))

    assert (
        "keys with other shapes (stem.spatial.weight (24, 3, 1, 3, 3) vs model (32, 3, 1, 3, 3)"
        in message
    )


def test_unexpected_checkpoint_keys_are_named(tmp_path: Path) -> None:
    model = build_x3d(TINY, num_classes=3)
    state = to_scheme(model.state_dict(), SLOWFAST)
    state["head.lin_5_bn.weight"] = torch.ones(2048)  # SlowFast with X3D.BN_LIN5 on
    torch.save({"model_state": state}, tmp_path / "bn_lin5.pyth")

    message = error_of(tmp_path / "bn_lin5.pyth", config=TINY)

    assert "1 unexpected keys (head.lin_5_bn.weight)" in message


def test_class_count_must_match_when_demanded(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c.pt", X3D_SPACE, build_x3d(TINY, num_classes=10), TINY)

    message = error_of(tmp_path / "c.pt", num_classes=400)

    assert "head.fc.weight (10, 2048) has 10 classes, expected 400" in message


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (XS, "its network (width 2, bottleneck 2.25, depth 2.2) is that of presets XS, S, M"),
        (replace(TINY, bottleneck_factor=1.5), "is no preset's: give arch=FILE.yaml"),
    ],
    ids=["presets-disagree", "no-preset"],
)
def test_foreign_checkpoint_without_a_view_needs_a_config(
    config, expected: str, tmp_path: Path
) -> None:
    state = to_scheme(build_x3d(config, num_classes=3).state_dict(), SLOWFAST)
    torch.save({"model_state": state}, tmp_path / "sf.pyth")

    message = error_of(tmp_path / "sf.pyth")

    assert "SlowFast checkpoint records no frames, stride or crop" in message
    assert expected in message


def _write_truncated(path: Path) -> None:
    save_checkpoint(path, X3D_SPACE, build_x3d(TINY, num_classes=3), TINY)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _write(content: object):
    def write(path: Path) -> None:
        torch.save(content, path)

    return write


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (_write_truncated, "not a readable PyTorch checkpoint"),
        (lambda path: path.write_bytes(b"\x00garbage" * 100), "not a readable PyTorch checkpoint"),
        (lambda path: path.write_bytes(b""), "not a readable PyTorch checkpoint"),
        (lambda path: path.write_bytes(pickle.dumps(print)), "not a readable PyTorch checkpoint"),
        (lambda path: None, "cannot read checkpoint"),
        (_write([1, 2]), "not a checkpoint (holds a list)"),
        (_write({"model_state": {"epoch": 3}}), "epoch hold non-tensor values"),
        (_write(nn.Linear(2, 2).state_dict()), "not an X3D checkpoint"),
        (_write({"format": "expansion-x3d", "config": {}, "model_state": {}}), "config is invalid"),
        (_write({"format": "other"}), "unknown checkpoint format 'other'"),
    ],
    ids=[
        "truncated",
        "garbage",
        "empty",
        "code",
        "absent",
        "list",
        "non-tensor",
        "other-network",
        "bad-config",
        "other-format",
    ],
)
def test_unusable_files_fail_in_one_line(write, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pyth"
    write(path)

    assert expected in error_of(path, config=TINY)
