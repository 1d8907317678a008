"""`expansion.evaluate` on encoded videos: views, saved scores, checkpoint formats, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from hydra_configs import compose_config
from torch import nn

from expansion.data import SyntheticSpec
from expansion.data.export import export_split
from expansion.errors import UserError
from expansion.evaluate import evaluate_checkpoint
from expansion.results.architecture import save_architecture
from expansion.results.checkpoints import save_checkpoint
from search_spaces.x3d import PRESETS, X3D_SPACE, build_x3d
from search_spaces.x3d.checkpoint_names import PYTORCHVIDEO, SLOWFAST, to_scheme

ROOT = Path(__file__).resolve().parents[2]
# An X2D-sized network on 2 frames of 48 pixels: a forward of a few clips takes milliseconds.
TINY = replace(PRESETS["XS"], frames=2, crop=48, width_factor=1.0, bottleneck_factor=1.0)
TINY = replace(TINY, depth_factor=1.0)
CLASSES = 12
VIDEOS = 6


def settings(*overrides: str) -> dict[str, Any]:
    return compose_config("evaluate", *overrides)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Encoded H.264 videos with a list file, an architecture file and a trained-looking
    checkpoint (random BN scales, so that outputs are not all alike)."""
    root = tmp_path_factory.mktemp("evaluate")
    spec = SyntheticSpec(split="val", num_videos=VIDEOS, height=64, width=80, num_frames=24)
    export_split(replace(spec, clutter=1), root / "videos")
    save_architecture(root / "tiny.yaml", X3D_SPACE, TINY)
    torch.manual_seed(0)
    model = build_x3d(TINY, CLASSES)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm3d):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.5, 0.5)
    save_checkpoint(root / "own.pt", X3D_SPACE, model, TINY)
    return {"root": root, "arch": root / "tiny.yaml", "own": root / "own.pt", "model": model}  # type: ignore[dict-item]


def run(files: dict[str, Path], *overrides: str) -> tuple[Any, str]:
    videos = files["root"] / "videos"
    data = [
        "data=kinetics",
        f"data.root={videos}",
        f"data.train_list={videos / 'val.csv'}",
        f"data.val_list={videos / 'val.csv'}",
        f"data.num_classes={CLASSES}",
    ]
    stream = io.StringIO()
    config = settings(*data, "num_workers=0", "batch_size=8", *overrides)
    return evaluate_checkpoint(config, stream), stream.getvalue()


def test_thirty_views_and_accuracy_from_saved_view_scores(files: dict[str, Path]) -> None:
    out = files["root"] / "scores.csv"
    result, printed = run(
        files, f"checkpoint={files['own']}", "views=10x3", f"out={out}", "per_view=true"
    )
    views = pd.read_csv(out.with_suffix(".views.csv"))
    videos = pd.read_csv(out)
    assert len(views) == 30 * VIDEOS
    assert (views.groupby("video").size() == 30).all()
    assert (views.groupby("video")[["clip", "crop"]].nunique() == [10, 3]).all().all()

    # Independent: average the saved per-view softmax scores by video, compare with the labels.
    score_columns = [f"score_{c}" for c in range(CLASSES)]
    averaged = views.groupby("video")[score_columns].mean().sort_index()
    labels = pd.read_csv(files["root"] / "videos" / "val.csv", sep=" ", header=None)[1]
    predicted = averaged.to_numpy().argmax(axis=1)
    top1 = float((predicted == labels.to_numpy()).mean())
    assert result.top1 == pytest.approx(top1)
    assert f"top-1 {100 * top1:.2f}%" in printed
    assert list(videos["prediction"]) == list(predicted)
    assert list(videos["label"]) == list(labels)
    assert videos[score_columns].to_numpy() == pytest.approx(averaged.to_numpy(), abs=1e-6)
    # A random network predicts one class for all; top-5 checks the ranking of every score.
    top5 = averaged.to_numpy().argsort(axis=1)[:, -5:] == labels.to_numpy()[:, None]
    assert result.top5 == pytest.approx(float(top5.any(axis=1).mean()))
    assert 0 < result.top5 < 1


def test_json_output_with_ten_center_views(files: dict[str, Path]) -> None:
    out = files["root"] / "scores.json"
    result, _ = run(files, f"arch={files['arch']}", f"checkpoint={files['own']}", f"out={out}")
    document = json.loads(out.read_text())
    assert document["top1"] == pytest.approx(result.top1)
    assert len(document["videos"]) == VIDEOS and "views" not in document
    assert {"name", "label", "prediction", "score_0"} <= document["videos"][0].keys()


@pytest.mark.parametrize("scheme", [PYTORCHVIDEO, SLOWFAST], ids=lambda s: s.name)
def test_other_formats_evaluate_like_the_own_checkpoint(
    files: dict[str, Path], scheme: Any, tmp_path: Path
) -> None:
    model: nn.Module = files["model"]  # type: ignore[assignment]
    state = to_scheme(model.state_dict(), scheme)
    path = tmp_path / f"x3d.{'pyth' if scheme is SLOWFAST else 'pt'}"
    torch.save({"model_state": state}, path)
    theirs, _ = run(files, f"arch={files['arch']}", f"checkpoint={path}", "views=2x1")
    ours, printed = run(files, f"checkpoint={files['own']}", "views=2x1")
    assert torch.allclose(theirs.scores, ours.scores, atol=1e-6)
    assert "expansion checkpoint" in printed


def test_mismatched_checkpoint_exits_2_with_one_line(files: dict[str, Path]) -> None:
    videos = files["root"] / "videos"
    command = [sys.executable, "-m", "expansion.evaluate", "arch=XS", f"checkpoint={files['own']}"]
    command += ["data=kinetics", f"data.root={videos}", f"data.val_list={videos / 'val.csv'}"]
    command += [
        f"data.train_list={videos / 'val.csv'}",
        f"data.num_classes={CLASSES}",
        "num_workers=0",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("expansion.evaluate: error: ")
    assert "does not fit X3D" in done.stderr and "(24, 3, 1, 3, 3)" in done.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("classes", r"has 12 classes, expected 400"),
        ("corrupt", r"not a readable PyTorch checkpoint"),
        ("no_checkpoint", r"checkpoint=PATH is required"),
        ("bad_arch", r"X3DConfig.crop must be positive"),
        ("bad_out", r"must end in \.csv or \.json"),
    ],
)
def test_bad_input_is_one_line_value_error(
    files: dict[str, Path], tmp_path: Path, case: str, message: str
) -> None:
    overrides = {
        "classes": [f"checkpoint={files['own']}", "data.num_classes=400"],
        "corrupt": [f"checkpoint={tmp_path / 'broken.pt'}"],
        "no_checkpoint": [],
        "bad_arch": [f"checkpoint={files['own']}", f"arch={tmp_path / 'bad.yaml'}"],
        "bad_out": [f"checkpoint={files['own']}", f"out={tmp_path / 'scores.txt'}"],
    }[case]
    (tmp_path / "broken.pt").write_bytes(files["own"].read_bytes()[:1000])
    (tmp_path / "bad.yaml").write_text(files["arch"].read_text().replace("crop: 48", "crop: -48"))
    with pytest.raises(UserError, match=message) as error:
        run(files, *overrides)
    assert "\n" not in str(error.value)
