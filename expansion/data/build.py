"""Where a dataset's videos come from, and the one function that builds a dataset from that."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from expansion.data.catalog import VideoFiles, scan_folders
from expansion.data.datasets import MAX_BAD_SHARE, ClipDataset, Mode, VideoCollection
from expansion.data.lists import ListFormat, read_list
from expansion.data.rawframes import MMACTION2_NAMING, FrameNaming
from expansion.data.sampling import SINGLE_VIEW, TestViews
from expansion.data.synthetic import SyntheticSpec, SyntheticVideos
from search_spaces.base import InputView


@dataclass(frozen=True)
class ListFileSource:
    """A list file of videos or frame folders under `root`, in `list_format` (see `lists`).

    Without `num_classes` it is the largest label + 1. `naming` is how frame folders name their
    images.
    """

    list_file: str | Path
    root: str | Path
    num_classes: int | None = None
    list_format: ListFormat = "auto"
    naming: FrameNaming = MMACTION2_NAMING


@dataclass(frozen=True)
class FolderSource:
    """Videos in one folder per class, `root/<class>/*.mp4`.

    A video's label is its folder's position in `classes`, which every folder must be in. Without
    `classes` it is the root's own folders sorted by name, so two splits whose folders differ
    would number them differently: give both splits the same list.
    """

    root: str | Path
    classes: tuple[str, ...] | None = None


DataSource = SyntheticSpec | ListFileSource | FolderSource


def collection(source: DataSource) -> VideoCollection:
    """The labelled videos a source describes (reads list files and folders, opens no video)."""
    match source:
        case SyntheticSpec():
            return SyntheticVideos(source)
        case ListFileSource():
            entries, num_classes = read_list(
                source.list_file, source.root, source.num_classes, source.list_format
            )
            return VideoFiles(entries, num_classes, naming=source.naming)
        case FolderSource():
            entries, classes = scan_folders(source.root, source.classes)
            return VideoFiles(entries, len(classes))
    raise TypeError(f"unknown data source {source!r}")


def build_dataset(
    source: DataSource,
    view: InputView,
    mode: Mode = "train",
    *,
    test_views: TestViews = SINGLE_VIEW,
    seed: int = 0,
    fps: float | None = None,
    max_bad_share: float = MAX_BAD_SHARE,
) -> ClipDataset:
    """A dataset of clips in `view` from `source`; see `ClipDataset` for the arguments."""
    return ClipDataset(
        collection(source),
        view,
        mode,
        test_views=test_views,
        seed=seed,
        fps=fps,
        max_bad_share=max_bad_share,
    )
