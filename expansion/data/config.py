"""The data a job trains and validates on, as one frozen value built once from the configuration.

`DataConfig.from_mapping(config["data"])` reads the `data` group (`conf/data/*.yaml`): where the
training and validation videos are, how many classes, the frame rate to resample to and the share
of unreadable videos tolerated. `dataset(...)` builds a split's `ClipDataset` in an input view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from expansion.config_values import absolute_path, as_float, as_int, optional_float, required
from expansion.data.build import DataSource, FolderSource, ListFileSource, build_dataset, collection
from expansion.data.datasets import MAX_BAD_SHARE, ClipDataset, Mode
from expansion.data.sampling import SINGLE_VIEW, TestViews
from expansion.data.synthetic import SyntheticSpec
from expansion.errors import ConfigError
from search_spaces.base import InputView

Split = Literal["train", "val"]
DATA_KINDS = ("synthetic", "kinetics", "folder")


@dataclass(frozen=True)
class DataConfig:
    """Training and validation sources (paths absolute), the class count, and loading policy.

    `fps` resamples every video before a view's stride counts frames (None: the file's own rate);
    more than `max_bad_share` unreadable videos stop loading.
    """

    train: DataSource
    val: DataSource
    num_classes: int
    fps: float | None = None
    max_bad_share: float = MAX_BAD_SHARE

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DataConfig:
        """The data of the `data` config group; bad or missing values raise a `ConfigError`."""
        kind = data.get("name")
        train, val, num_classes = _sources(kind, data)
        # The datasets check the values' ranges when they are built.
        max_bad_share = as_float(data.get("max_bad_share", MAX_BAD_SHARE), "data.max_bad_share")
        fps = optional_float(data.get("fps"), "data.fps")
        return cls(train, val, num_classes, fps, max_bad_share)

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


def _sources(kind: Any, data: Mapping[str, Any]) -> tuple[DataSource, DataSource, int]:
    if kind == "synthetic":
        geometry = {
            key: as_int(data[key], f"data.{key}")
            for key in ("height", "width", "num_frames")
            if key in data
        }
        seed = as_int(data.get("seed", 0), "data.seed")
        train = SyntheticSpec(
            seed, "train", as_int(data["num_train"], "data.num_train"), **geometry
        )
        val = SyntheticSpec(seed, "val", as_int(data["num_val"], "data.num_val"), **geometry)
        return train, val, collection(train).num_classes
    if kind == "kinetics":
        root = absolute_path(required(data, "root", "data"))
        classes = as_int(required(data, "num_classes", "data"), "data.num_classes")
        lists = [absolute_path(required(data, key, "data")) for key in ("train_list", "val_list")]
        train, val = (ListFileSource(path, root, classes) for path in lists)
        return train, val, classes
    if kind == "folder":
        train = FolderSource(absolute_path(required(data, "train_root", "data")))
        val = FolderSource(absolute_path(required(data, "val_root", "data")))
        return train, val, collection(train).num_classes
    raise ConfigError(f"unknown data source {kind!r}: {', '.join(DATA_KINDS)}")
