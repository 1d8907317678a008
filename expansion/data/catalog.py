"""Which videos a dataset has: the entries of list files (`lists`) and folder-per-class trees,
and the collection that opens them (video files, or folders of frames)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from expansion.data.errors import DataError
from expansion.data.rawframes import MMACTION2_NAMING, FrameFolder, FrameNaming
from expansion.data.video import VideoFile

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v"})


@dataclass(frozen=True)
class VideoEntry:
    """A video file, or with `frames` a folder of that many frame images (`rawframes`)."""

    path: str
    label: int
    frames: int | None = None


def existing_dir(root: str | Path) -> Path:
    path = Path(root)
    if not path.is_dir():
        raise DataError(f"data root {path} does not exist or is not a folder")
    return path


def class_folders(root: str | Path, classes: Sequence[str] | None = None) -> list[str]:
    """The names of the class folders under `root`, sorted; each must be in `classes` if given."""
    base = existing_dir(root)
    folders = sorted(p.name for p in base.iterdir() if p.is_dir())
    unknown = sorted(set(folders) - set(folders if classes is None else classes))
    if unknown:
        raise DataError(f"class folders under {base} not in the class list: {', '.join(unknown)}")
    return folders


def scan_folders(
    root: str | Path, classes: Sequence[str] | None = None
) -> tuple[list[VideoEntry], list[str]]:
    """Videos under `root/<class>/`, labelled by their class's position in `classes`.

    Without `classes` they are the root's own folders sorted by name. Returns the entries and the
    class names.
    """
    folders = class_folders(root, classes)
    names = folders if classes is None else list(classes)
    labels = {name: label for label, name in enumerate(names)}
    base = Path(root)
    entries = [
        VideoEntry(str(path), labels[name])
        for name in folders
        for path in sorted((base / name).iterdir())
        if path.suffix.lower() in VIDEO_SUFFIXES
    ]
    if not entries:
        raise DataError(f"no videos under {base}/<class>/ (suffixes {sorted(VIDEO_SUFFIXES)})")
    return entries, names


class VideoFiles:
    """A collection of video files and frame folders with labels, opened one at a time on demand.

    `naming` is how frame folders name their images.
    """

    def __init__(
        self,
        entries: Sequence[VideoEntry],
        num_classes: int,
        *,
        seek: bool = True,
        naming: FrameNaming = MMACTION2_NAMING,
    ) -> None:
        self.entries = list(entries)
        self.num_classes = num_classes
        self.seek = seek
        self.naming = naming

    def __len__(self) -> int:
        return len(self.entries)

    def label(self, index: int) -> int:
        return self.entries[index].label

    def name(self, index: int) -> str:
        return self.entries[index].path

    def open(self, index: int) -> VideoFile | FrameFolder:
        entry = self.entries[index]
        if entry.frames is not None:
            return FrameFolder(entry.path, entry.frames, self.naming)
        return VideoFile(entry.path, seek=self.seek)
