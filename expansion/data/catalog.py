"""Which video files a dataset has: Kinetics-style list files and folder-per-class trees."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from expansion.data.errors import DataError
from expansion.data.video import VideoFile

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v"})


@dataclass(frozen=True)
class VideoEntry:
    path: str
    label: int


def _existing_dir(root: str | Path) -> Path:
    path = Path(root)
    if not path.is_dir():
        raise DataError(f"data root {path} does not exist or is not a folder")
    return path


def _text_lines(list_file: Path) -> list[str]:
    """The lines of a UTF-8 list file; a byte-order mark (Windows editors write one) is dropped."""
    if not list_file.is_file():
        raise DataError(f"list file {list_file} does not exist")
    try:
        return list_file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise DataError(f"{list_file}:{line}: not UTF-8 text ({error.reason})") from None


def read_list(
    list_file: str | Path, root: str | Path, num_classes: int | None = None
) -> tuple[list[VideoEntry], int]:
    """Entries of a list file with one `relative/path label` per line (space or comma between).

    Blank lines are skipped. Without `num_classes` it is the largest label + 1. Returns the
    entries and the number of classes.
    """
    base = _existing_dir(root)
    entries: list[VideoEntry] = []
    lines: list[int] = []
    for number, line in enumerate(_text_lines(Path(list_file)), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.rsplit("," if "," in line else None, maxsplit=1)]
        if len(fields) != 2 or not fields[0] or re.fullmatch(r"-?\d+", fields[1]) is None:
            raise DataError(f"{list_file}:{number}: expected 'path label', got {line.strip()!r}")
        entries.append(VideoEntry(str(base / fields[0]), int(fields[1])))
        lines.append(number)
    if not entries:
        raise DataError(f"list file {list_file} lists no videos")
    classes = num_classes if num_classes is not None else max(e.label for e in entries) + 1
    for entry, number in zip(entries, lines, strict=True):
        if not 0 <= entry.label < classes:
            raise DataError(f"{list_file}:{number}: label {entry.label} outside [0, {classes})")
    return entries, classes


def class_folders(root: str | Path, classes: Sequence[str] | None = None) -> list[str]:
    """The names of the class folders under `root`, sorted; each must be in `classes` if given."""
    base = _existing_dir(root)
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
    """A collection of video files with labels, opened one at a time on demand."""

    def __init__(self, entries: Sequence[VideoEntry], num_classes: int, *, seek: bool = True):
        self.entries = list(entries)
        self.num_classes = num_classes
        self.seek = seek

    def __len__(self) -> int:
        return len(self.entries)

    def label(self, index: int) -> int:
        return self.entries[index].label

    def name(self, index: int) -> str:
        return self.entries[index].path

    def open(self, index: int) -> VideoFile:
        return VideoFile(self.entries[index].path, seek=self.seek)
