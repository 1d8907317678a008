"""The data a job trains and validates on, as one frozen value built once from the configuration.

`DataConfig.from_mapping(config["data"])` reads the `data` group (`conf/data/*.yaml`): where the
training and validation videos are (and, for list files, their format and how frame images are
named), how many classes and their names, the frame rate to resample to, the share of unreadable
videos tolerated and whether to check every video before training.
`dataset(...)` builds a split's `ClipDataset` in an input view; `check_videos()` is the check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from expansion.config_values import (
    absolute_path,
    as_bool,
    as_float,
    as_int,
    optional_float,
    required,
)
from expansion.data.build import DataSource, FolderSource, ListFileSource, build_dataset, collection
from expansion.data.catalog import class_folders
from expansion.data.datasets import MAX_BAD_SHARE, ClipDataset, Mode
from expansion.data.label_map import read_label_map
from expansion.data.lists import LIST_FORMATS
from expansion.data.preflight import WORKERS, check_videos
from expansion.data.rawframes import FrameNaming
from expansion.data.sampling import SINGLE_VIEW, TestViews
from expansion.data.synthetic import CLASS_NAMES as SYNTHETIC_CLASS_NAMES
from expansion.data.synthetic import SyntheticSpec
from expansion.data.synthetic.spec import DEFAULT_DATASET as DEFAULT_SYNTHETIC
from expansion.data.synthetic.spec import VERSIONS as SYNTHETIC_VERSIONS
from expansion.errors import ConfigError
from search_spaces.base import InputView

Split = Literal["train", "val"]
SPLITS: tuple[Split, ...] = ("train", "val")
DATA_KINDS = ("synthetic", "kinetics", "folder")


@dataclass(frozen=True)
class DataConfig:
    """Training and validation sources (paths absolute), the class count, and loading policy.

    `fps` resamples every video before a view's stride counts frames (None: the file's own rate);
    more than `max_bad_share` unreadable videos stop loading. `validate` has `check_videos` read
    every video file (synthetic videos never need it). `class_names` come from `data.label_map`,
    or a folder dataset's class folders; None: unnamed.
    """

    train: DataSource
    val: DataSource
    num_classes: int
    fps: float | None = None
    max_bad_share: float = MAX_BAD_SHARE
    validate: bool = True
    class_names: tuple[str, ...] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DataConfig:
        """The data of the `data` config group; bad or missing values raise a `ConfigError`."""
        kind = data.get("name")
        train, val, num_classes = _sources(kind, data)
        # The datasets check the values' ranges when they are built.
        max_bad_share = as_float(data.get("max_bad_share", MAX_BAD_SHARE), "data.max_bad_share")
        fps = optional_float(data.get("fps"), "data.fps")
        validate = as_bool(data.get("validate", True), "data.validate")
        names = _class_names(data.get("label_map"), train, num_classes)
        return cls(train, val, num_classes, fps, max_bad_share, validate, names)

    def source(self, split: Split) -> DataSource:
        return self.train if split == "train" else self.val

    def dataset(
        self,
        split: Split,
        view: InputView,
        mode: Mode,
        *,
        test_views: TestViews = SINGLE_VIEW,
        seed: int = 0,
    ) -> ClipDataset:
        """The clips of `split` in `view` (see `ClipDataset`); `seed` draws training clips."""
        return build_dataset(
            self.source(split),
            view,
            mode,
            test_views=test_views,
            seed=seed,
            fps=self.fps,
            max_bad_share=self.max_bad_share,
        )

    def check_videos(self, workers: int = WORKERS) -> list[str]:
        """The unreadable videos of both splits (no video is opened without `validate`).

        Meant for before the first trial: more than `max_bad_share` of a split unreadable raises
        a `DataError` then rather than during training (see `preflight.check_videos`).
        """
        # Reading the lists and folders checks roots, list files and labels even without it.
        videos = [collection(self.source(split)) for split in SPLITS]
        if not self.validate:
            return []
        return [
            name for split in videos for name in check_videos(split, self.max_bad_share, workers)
        ]


def _sources(kind: Any, data: Mapping[str, Any]) -> tuple[DataSource, DataSource, int]:
    if kind == "synthetic":
        geometry = {
            key: as_int(data[key], f"data.{key}")
            for key in ("height", "width", "num_frames", "clutter")
            if data.get(key) is not None
        }
        seed = as_int(data.get("seed", 0), "data.seed")
        dataset = _synthetic_dataset(data)
        train, val = (
            SyntheticSpec(
                seed, split, as_int(data[f"num_{split}"], f"data.num_{split}"), dataset, **geometry
            )
            for split in SPLITS
        )
        return train, val, collection(train).num_classes
    if kind == "kinetics":
        root = absolute_path(required(data, "root", "data"))
        classes = as_int(required(data, "num_classes", "data"), "data.num_classes")
        lists = [absolute_path(required(data, key, "data")) for key in ("train_list", "val_list")]
        list_format = data.get("list_format") or "auto"
        if list_format not in LIST_FORMATS:
            known = ", ".join(LIST_FORMATS)
            raise ConfigError(f"data.list_format: expected one of {known}, got {list_format!r}")
        naming = FrameNaming(
            str(data.get("filename_tmpl") or FrameNaming.template),
            as_int(data.get("start_index", FrameNaming.start_index), "data.start_index"),
        )
        train, val = (ListFileSource(path, root, classes, list_format, naming) for path in lists)
        return train, val, classes
    if kind == "folder":
        roots = [absolute_path(required(data, key, "data")) for key in ("train_root", "val_root")]
        classes = _folder_classes(data.get("classes"), roots)
        train, val = (FolderSource(root, classes) for root in roots)
        return train, val, len(classes)
    raise ConfigError(f"unknown data source {kind!r}: {', '.join(DATA_KINDS)}")


def as_recorded(data: Mapping[str, Any], resumed: bool) -> dict[str, Any]:
    """The `data` group as a run records it: a new run's built-in dataset with its version filled
    in; a resumed run whose settings name no dataset was recorded before `scales` existed, on
    `blinks`."""
    if data.get("name") != "synthetic":
        return dict(data)
    if resumed:
        return {"dataset": "blinks", **data} if "dataset" not in data else dict(data)
    if data.get("version") is not None:
        return dict(data)
    return {**data, "version": SYNTHETIC_VERSIONS[_synthetic_dataset(data)]}


def data_identity(data: Mapping[str, Any]) -> str:
    """What a run's data is, for its results: `scales-v1`, `blinks-v1`, or the source's kind."""
    if data.get("name") != "synthetic":
        return str(data.get("name"))
    dataset = _synthetic_dataset(data)
    return f"{dataset}-v{data.get('version') or SYNTHETIC_VERSIONS[dataset]}"


def _synthetic_dataset(data: Mapping[str, Any]) -> str:
    """`data.dataset` (default `scales`), checked against `data.version` when a run recorded one."""
    dataset = str(data.get("dataset") or DEFAULT_SYNTHETIC)
    if dataset not in SYNTHETIC_VERSIONS:
        known = ", ".join(SYNTHETIC_VERSIONS)
        raise ConfigError(f"data.dataset: unknown built-in dataset {dataset!r} ({known})")
    recorded = data.get("version")
    current = SYNTHETIC_VERSIONS[dataset]
    if recorded is not None and as_int(recorded, "data.version") != current:
        raise ConfigError(
            f"data.version: this run was measured on {dataset} version {recorded}, and this code "
            f"renders version {current}: its videos differ, start a new run"
        )
    return dataset


def _class_names(label_map: Any, train: DataSource, num_classes: int) -> tuple[str, ...] | None:
    """The names of `data.label_map`, else a folder dataset's class folders or a built-in
    dataset's classes, else None."""
    if label_map:
        return read_label_map(absolute_path(label_map), num_classes)
    if isinstance(train, FolderSource):
        return train.classes
    if isinstance(train, SyntheticSpec):
        return SYNTHETIC_CLASS_NAMES[train.dataset]
    return None


def _folder_classes(given: Any, roots: Sequence[Path]) -> tuple[str, ...]:
    """`data.classes`, or else every class folder of either root, sorted.

    Both splits are numbered by this one list, so a class has the same label in each even when
    one split lacks some of the other's folders. Folders not in `data.classes` are a `DataError`.
    """
    if given is None:
        return tuple(sorted({name for root in roots for name in class_folders(root)}))
    if isinstance(given, str) or not isinstance(given, Sequence) or not given:
        raise ConfigError(f"data.classes: expected a list of class names, got {given!r}")
    classes = tuple(str(name) for name in given)
    twice = sorted(name for name, count in Counter(classes).items() if count > 1)
    if twice:
        raise ConfigError(f"data.classes: listed more than once: {', '.join(twice)}")
    for root in roots:
        class_folders(root, classes)
    return classes
