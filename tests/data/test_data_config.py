"""The `data` config group: folder class numbering shared by both splits, and the video check."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from expansion.data import DataConfig, DataError, FolderSource, UnreadableVideoWarning
from expansion.data.build import collection
from expansion.errors import ConfigError


def folders(root: Path, classes: str) -> Path:
    """`root/<class>/a.mp4` for each comma-separated class (empty files: labels only)."""
    for name in classes.split(","):
        (root / name).mkdir(parents=True)
        (root / name / "a.mp4").touch()
    return root


def folder_config(tmp_path: Path, train: str, val: str, **more: Any) -> DataConfig:
    roots = {"train_root": folders(tmp_path / "train", train), "val_root": tmp_path / "val"}
    folders(tmp_path / "val", val)
    return DataConfig.from_mapping({"name": "folder", **roots, **more})


def labels(source: Any) -> dict[str, int]:
    videos = collection(source)
    return {Path(videos.name(i)).parent.name: videos.label(i) for i in range(len(videos))}


@pytest.mark.parametrize(
    ("train", "val", "classes"),
    [
        ("c0,c1,c2", "c0,c2", ["c0", "c1", "c2"]),  # val lacks a class
        ("c0,c1", "c0,c1,c3", ["c0", "c1", "c3"]),  # val has a class training lacks
        ("c1,c2", "c0,c2", ["c0", "c1", "c2"]),  # each lacks one of the other's
    ],
)
def test_folder_splits_number_classes_by_their_union(
    tmp_path: Path, train: str, val: str, classes: list[str]
) -> None:
    data = folder_config(tmp_path, train, val)
    everywhere = {name: label for label, name in enumerate(classes)}
    assert labels(data.train) == {name: everywhere[name] for name in train.split(",")}
    assert labels(data.val) == {name: everywhere[name] for name in val.split(",")}
    assert data.num_classes == len(classes)
    assert collection(data.train).num_classes == collection(data.val).num_classes == len(classes)


def test_an_explicit_class_list_numbers_the_folders(tmp_path: Path) -> None:
    data = folder_config(tmp_path, "c0,c1", "c0,c2", classes=["c2", "c0", "c1", "c9"])
    assert (labels(data.train), labels(data.val)) == ({"c0": 1, "c1": 2}, {"c0": 1, "c2": 0})
    assert data.num_classes == collection(data.val).num_classes == 4
    source = FolderSource(tmp_path / "val", ("c2", "c0"))
    assert labels(source) == {"c0": 1, "c2": 0} and collection(source).num_classes == 2


def test_folders_outside_the_class_list_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^class folders under \S*val not in .*: c2, c3$"):
        folder_config(tmp_path, "c0,c1", "c0,c2,c3", classes=["c0", "c1"])
    with pytest.raises(DataError, match=r"not in the class list: c1$"):
        collection(FolderSource(tmp_path / "train", ("c0",)))


@pytest.mark.parametrize(
    ("classes", "problem"),
    [
        ("c0", "expected a list"),
        ([], "expected a list"),
        (["c0", "c1", "c0"], "listed more than once: c0$"),
    ],
)
def test_bad_class_lists_are_config_errors(tmp_path: Path, classes: Any, problem: str) -> None:
    with pytest.raises(ConfigError, match=rf"^data.classes: {problem}"):
        folder_config(tmp_path, "c0,c1", "c0", classes=classes)


def video_folders(make_video: Callable[..., Path], tmp_path: Path) -> Mapping[str, Any]:
    """Two readable videos and an empty file in each split."""
    for split in ("train", "val"):
        make_video(f"{split}/c0/good.mp4", 10)
        make_video(f"{split}/c1/good.mp4", 10)
        (tmp_path / split / "c1" / "empty.mp4").touch()
    roots = {f"{split}_root": tmp_path / split for split in ("train", "val")}
    return {"name": "folder", "max_bad_share": 0.5, **roots}


def test_check_videos_reads_both_splits(make_video: Callable[..., Path], tmp_path: Path) -> None:
    data = DataConfig.from_mapping(video_folders(make_video, tmp_path))
    assert data.validate
    with pytest.warns(UnreadableVideoWarning):
        unreadable = data.check_videos(workers=2)
    assert unreadable == [str(tmp_path / split / "c1" / "empty.mp4") for split in ("train", "val")]
    strict = DataConfig.from_mapping({**video_folders(make_video, tmp_path), "max_bad_share": 0})
    with pytest.raises(DataError, match=r"^1 of 3 videos .*empty.mp4$"):
        strict.check_videos()


def test_validate_false_checks_nothing(make_video: Callable[..., Path], tmp_path: Path) -> None:
    data = DataConfig.from_mapping({**video_folders(make_video, tmp_path), "validate": False})
    assert not data.validate and data.check_videos() == []


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_validate_must_be_true_or_false(tmp_path: Path, value: Any) -> None:
    roots = {"train_root": folders(tmp_path / "t", "c0"), "val_root": tmp_path / "t"}
    with pytest.raises(ConfigError, match=r"^data.validate: expected true or false"):
        DataConfig.from_mapping({"name": "folder", **roots, "validate": value})


def test_synthetic_data_is_never_read_by_the_check() -> None:
    data = DataConfig.from_mapping({"name": "synthetic", "num_train": 12, "num_val": 6})
    assert data.validate and data.check_videos() == []
