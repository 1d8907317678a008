"""`expansion.evaluate checkpoint=PATH` alone, for every checkpoint format, on videos and on the
same videos as frame folders listed the three ways mmaction2 users hold them, with class names."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import pandas as pd
import pytest
import torch
import yaml
from hydra_configs import compose_config
from PIL import Image
from random_weights import randomise

from expansion.data import SyntheticSpec
from expansion.data.export import export_split
from expansion.evaluate import evaluate_checkpoint
from expansion.results.checkpoints import save_checkpoint
from search_spaces.x3d import PRESETS, X3D_SPACE, X3DConfig, build_x3d
from search_spaces.x3d.checkpoint_names import PYTORCHVIDEO, SLOWFAST, to_scheme
from search_spaces.x3d.mmaction2 import save_mmaction2

# No preset has TINY's network, so only a stored configuration (ours, SlowFast's cfg) gives it;
# X2D's is the only preset with its network, so formats without one resolve to it.
TINY = X3DConfig(2, 6, 48, width_factor=1.0, bottleneck_factor=1.0, depth_factor=1.0)
X2D = PRESETS["X2D"]
NAMES = ("abseiling", "air drumming", "archery", "arm wrestling", "bee keeping", "zumba")
VIDEOS = 6


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Encoded videos with a `path label` list; their frames as JPEG folders with a raw-frame
    list and a `video_id, num_frames, label_index` list; a label map."""
    root = tmp_path_factory.mktemp("formats")
    spec = SyntheticSpec(split="val", num_videos=VIDEOS, height=64, width=80, num_frames=24)
    videos = export_split(replace(spec, clutter=1), root / "videos")
    rawframes, ids = [], []
    for line in videos.read_text().splitlines():
        path, label = line.split()
        video_id = Path(path).stem
        folder = root / "frames" / video_id
        folder.mkdir(parents=True)
        with av.open(str(root / "videos" / path)) as container:
            for index, frame in enumerate(container.decode(video=0), start=1):
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(
                    folder / f"img_{index:05}.jpg", quality=95
                )
        rawframes.append(f"frames/{video_id} {index} {label}")
        ids.append(f"{video_id}, {index}, {label}")
    (root / "rawframes.txt").write_text("\n".join(rawframes) + "\n")
    (root / "ids.txt").write_text("\n".join(ids) + "\n")
    (root / "class2ind.txt").write_text("".join(f"{n} {i}\n" for i, n in enumerate(NAMES)))
    return root


def run(files: Path, root: Path, list_file: Path, *overrides: str) -> tuple[Any, str]:
    """Evaluate on the videos or frames under `root` that `list_file` lists, classes named."""
    data = [
        "data=kinetics",
        f"data.root={root}",
        f"data.train_list={list_file}",
        f"data.val_list={list_file}",
        f"data.num_classes={len(NAMES)}",
        f"data.label_map={files / 'class2ind.txt'}",
    ]
    stream = io.StringIO()
    config = compose_config("evaluate", *data, "num_workers=0", "views=2x1", *overrides)
    return evaluate_checkpoint(config, stream), stream.getvalue()


def on_videos(files: Path, *overrides: str) -> tuple[Any, str]:
    return run(files, files / "videos", files / "videos" / "val.csv", *overrides)


def slowfast_cfg(config: X3DConfig) -> str:
    """The part of SlowFast's `cfg.dump()` that says the view and the factors."""
    data = {"NUM_FRAMES": config.frames, "SAMPLING_RATE": config.stride}
    factors = {"WIDTH_FACTOR": config.width_factor, "BOTTLENECK_FACTOR": config.bottleneck_factor}
    factors["DEPTH_FACTOR"] = config.depth_factor
    cfg = {"DATA": data | {"TRAIN_CROP_SIZE": config.crop}, "X3D": factors}
    return yaml.safe_dump(cfg)


def write_checkpoint(kind: str, path: Path) -> X3DConfig:
    """A trained-looking checkpoint in format `kind`; the configuration it holds."""
    config = TINY if kind in ("expansion", "SlowFast") else X2D
    model = randomise(build_x3d(config, len(NAMES)))
    if kind == "expansion":
        save_checkpoint(path, X3D_SPACE, model, config)
    elif kind == "SlowFast":
        state = to_scheme(model.state_dict(), SLOWFAST)
        torch.save({"model_state": state, "cfg": slowfast_cfg(config), "epoch": 10}, path)
    elif kind == "pytorchvideo":
        torch.save({"model_state": to_scheme(model.state_dict(), PYTORCHVIDEO)}, path)
    else:
        save_mmaction2(path, model, config)
        document = torch.load(path, weights_only=True)
        # As mmaction2's own files: no configuration of ours in `meta`.
        torch.save({"meta": {}, "state_dict": document["state_dict"]}, path)
    return config


@pytest.mark.parametrize("kind", ["expansion", "SlowFast", "pytorchvideo", "mmaction2"])
def test_a_checkpoint_alone_is_evaluated_with_class_names(
    files: Path, tmp_path: Path, kind: str
) -> None:
    config = write_checkpoint(kind, tmp_path / "x3d.pth")
    out = tmp_path / "scores.csv"

    result, printed = on_videos(files, f"checkpoint={tmp_path / 'x3d.pth'}", f"out={out}")

    assert printed.startswith(f"{X3D_SPACE.label(config)}: {config.frames} frames × stride ")
    assert (
        f"top-1 {100 * result.top1:.2f}%  top-5 {100 * result.top5:.2f}%  "
        f"mean class accuracy {100 * result.mean_class_accuracy:.2f}%  "
        f"({VIDEOS} videos × 2 views, {kind} checkpoint" in printed
    )
    # Independent: the per-class table against accuracies counted from the saved predictions.
    videos = pd.read_csv(out)
    assert list(videos["label_name"]) == [NAMES[label] for label in videos["label"]]
    assert list(videos["prediction_name"]) == [NAMES[p] for p in videos["prediction"]]
    table = printed.splitlines()[2:]
    assert table[0].split() == ["class", "name", "videos", "top-1"]
    for label, name in enumerate(NAMES):
        rows = videos[videos["label"] == label]
        accuracy = 100 * float((rows["prediction"] == label).mean())
        line = next(line for line in table[1:] if line.split()[0] == str(label))
        assert line.split(maxsplit=1)[1].startswith(name)
        assert line.endswith(f"{len(rows):>6}  {accuracy:>6.2f}%")
    mean = sum(
        float((videos[videos["label"] == c]["prediction"] == c).mean()) for c in range(len(NAMES))
    ) / len(NAMES)
    assert result.mean_class_accuracy == pytest.approx(mean)


def test_frame_folders_evaluate_like_the_videos(files: Path, tmp_path: Path) -> None:
    write_checkpoint("expansion", tmp_path / "x3d.pt")
    checkpoint = f"checkpoint={tmp_path / 'x3d.pt'}"
    out = tmp_path / "scores.json"

    videos, _ = on_videos(files, checkpoint)
    rawframes, _ = run(files, files, files / "rawframes.txt", checkpoint, f"out={out}")
    ids, _ = run(files, files / "frames", files / "ids.txt", checkpoint, "data.list_format=ids")

    for frames in (rawframes, ids):
        assert frames.top1 == videos.top1
        assert torch.equal(frames.scores.argmax(dim=1), videos.scores.argmax(dim=1))
        torch.testing.assert_close(frames.scores, videos.scores, atol=0.005, rtol=0)
    document = json.loads(out.read_text())
    assert [row["name"] for row in document["classes"]] == list(NAMES)
    assert document["videos"][0]["name"].endswith("frames/000000")
