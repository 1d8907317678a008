"""Unreadable videos reach the user: checked before the first trial, named once, recorded per
trial and in the summary; more than `max_bad_share` of them stops the run in one line."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from hydra_configs import compose_config

from expansion.data import SyntheticSpec
from expansion.data.export import export_split
from expansion.errors import DataError
from expansion.search.driver import run_search

VIDEO = {"height": 64, "width": 80, "num_frames": 24, "clutter": 1}


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    export_split(SyntheticSpec(split="train", num_videos=24, dataset="blinks", **VIDEO), root)
    export_split(SyntheticSpec(split="val", num_videos=12, dataset="blinks", **VIDEO), root)
    return root


def settings(root: Path) -> dict:
    return compose_config(
        "config", "trial=smoke", "dispatcher=inline", "target_gflops=0.03", "axes=[depth]",
        "data=kinetics", f"data.root={root}", f"data.train_list={root / 'train.csv'}",
        f"data.val_list={root / 'val.csv'}", "data.num_classes=6",
    )  # fmt: skip


def copy_videos(videos: Path, root: Path) -> Path:
    """A private copy of the exported videos and their lists."""
    for split in ("train", "val"):
        (root / split).mkdir(parents=True)
        for video in (videos / split).iterdir():
            (root / split / video.name).write_bytes(video.read_bytes())
        (root / f"{split}.csv").write_text((videos / f"{split}.csv").read_text())
    return root


def corrupt(root: Path, names: list[str]) -> list[Path]:
    paths = [root / "train" / name for name in names]
    for path in paths:
        path.write_bytes(path.read_bytes()[:300])
    return paths


def test_a_few_unreadable_videos_are_named_once_and_recorded(videos: Path, tmp_path: Path) -> None:
    root = copy_videos(videos, tmp_path / "data")  # one of 36 unreadable: under 5 %
    (bad,) = corrupt(root, [sorted((root / "train").iterdir())[3].name])
    stream = io.StringIO()
    run_search(settings(root), tmp_path / "run", stream=stream)
    console = stream.getvalue()
    assert console.count(f"unreadable video (replaced by another): {bad}") == 1
    assert "(found by the pre-flight check)" in console
    assert console.strip().splitlines()[-1] == f"1 unreadable videos, replaced: {bad}"
    trials = pd.read_csv(tmp_path / "run" / "trials.csv", keep_default_na=False)
    assert set(trials["bad_videos"]) <= {str(bad), ""} and str(bad) in set(trials["bad_videos"])


def test_too_many_unreadable_videos_stop_before_the_first_trial(
    videos: Path, tmp_path: Path
) -> None:
    root = copy_videos(videos, tmp_path / "data")
    names = [path.name for path in sorted((root / "train").iterdir())[:3]]
    corrupt(root, names)
    with pytest.raises(DataError, match=r"^3 of 24 videos are unreadable \(more than 5%\)"):
        run_search(settings(root), tmp_path / "run", stream=io.StringIO())
    assert not (tmp_path / "run" / "trials.csv").exists()
