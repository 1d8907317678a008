"""List files of labelled videos, in the formats X3D users hold, read and checked line by line.

- `video`: `relative/path label` (mmaction2's video lists; a comma may separate the two).
- `rawframes`: `frame_dir total_frames label` (mmaction2's raw-frame lists): a folder of frame
  images under the root (see `rawframes`).
- `ids`: `video_id, num_frames, label_index` (the Kinetics-400 validation list that mmaction2's
  X3D page links). An id names a video file (`<id>`, or `<id>.mp4`, `.mkv`, …) or else a frame
  folder `<id>` of `num_frames` images, directly under the root, or one class folder down when no
  id is directly under it; an id found nowhere stays `root/<id>`, an unreadable video like any
  missing file.

`auto` takes the format of the first line that is not blank; every line must then fit it. A line
`a 30 2` fits `rawframes` first: name `video` to read it as the path `a 30`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from expansion.data.catalog import VIDEO_SUFFIXES, VideoEntry, existing_dir
from expansion.data.errors import DataError

ListFormat = Literal["auto", "video", "rawframes", "ids"]
LIST_FORMATS: tuple[str, ...] = get_args(ListFormat)

_LABEL = re.compile(r"-?\d+")
_COUNT = re.compile(r"\d+")


@dataclass(frozen=True)
class _Line:
    """One list line: a path, frame folder or id; a frame count where the format has one."""

    name: str
    frames: int | None
    label: int


def _video_line(text: str) -> _Line | None:
    fields = [f.strip() for f in text.rsplit("," if "," in text else None, maxsplit=1)]
    if len(fields) != 2 or not fields[0] or not _LABEL.fullmatch(fields[1]):
        return None
    return _Line(fields[0], None, int(fields[1]))


def _counted_line(fields: list[str]) -> _Line | None:
    if len(fields) != 3 or not fields[0] or not _COUNT.fullmatch(fields[1]):
        return None
    if not _LABEL.fullmatch(fields[2]):
        return None
    return _Line(fields[0], int(fields[1]), int(fields[2]))


def _rawframes_line(text: str) -> _Line | None:
    return _counted_line(text.split())


def _ids_line(text: str) -> _Line | None:
    return _counted_line([field.strip() for field in text.split(",")])


# Each format: how messages show its lines, and its parser. `auto` tries them in this order.
_FORMATS: dict[str, tuple[str, Callable[[str], _Line | None]]] = {
    "ids": ("video_id, num_frames, label_index", _ids_line),
    "rawframes": ("frame_dir total_frames label", _rawframes_line),
    "video": ("path label", _video_line),
}


def read_list(
    list_file: str | Path,
    root: str | Path,
    num_classes: int | None = None,
    list_format: ListFormat = "auto",
) -> tuple[list[VideoEntry], int]:
    """The entries of a list file under `root`, and the number of classes.

    Blank lines are skipped. Without `num_classes` it is the largest label + 1. A line that does
    not fit the format, or a label outside the classes, is a `DataError` naming file and line.
    """
    base = existing_dir(root)
    list_file = Path(list_file)
    lines = [(n, text) for n, text in enumerate(_text_lines(list_file), start=1) if text.strip()]
    if not lines:
        raise DataError(f"list file {list_file} lists no videos")
    if list_format not in LIST_FORMATS:
        raise DataError(f"list format {list_format!r}: expected one of {', '.join(LIST_FORMATS)}")
    name = _detect(list_file, *lines[0]) if list_format == "auto" else list_format
    pattern, parse = _FORMATS[name]
    parsed = []
    for number, text in lines:
        line = parse(text)
        if line is None:
            raise DataError(
                f"{list_file}:{number}: expected '{pattern}' ({name} list), got {text.strip()!r}"
            )
        parsed.append((number, line))
    classes = num_classes if num_classes is not None else max(x.label for _, x in parsed) + 1
    for number, line in parsed:
        if not 0 <= line.label < classes:
            raise DataError(f"{list_file}:{number}: label {line.label} outside [0, {classes})")
    if name == "ids":
        entries = _id_entries(base, list_file, parsed)
    else:
        entries = [VideoEntry(str(base / line.name), line.label, line.frames) for _, line in parsed]
    return entries, classes


def _detect(list_file: Path, number: int, text: str) -> str:
    """The format whose lines `text` looks like."""
    for name, (_, parse) in _FORMATS.items():
        if parse(text) is not None:
            return name
    patterns = "; ".join(f"'{pattern}'" for pattern, _ in _FORMATS.values())
    raise DataError(f"{list_file}:{number}: fits no list format ({patterns}): {text.strip()!r}")


def _text_lines(list_file: Path) -> list[str]:
    """The lines of a UTF-8 list file; a byte-order mark (Windows editors write one) is dropped."""
    if not list_file.is_file():
        raise DataError(f"list file {list_file} does not exist")
    try:
        return list_file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise DataError(f"{list_file}:{line}: not UTF-8 text ({error.reason})") from None


def _id_entries(root: Path, list_file: Path, lines: list[tuple[int, _Line]]) -> list[VideoEntry]:
    """The video file or frame folder each id names: directly under `root`, or, when no id is
    there, one class folder down (see the module)."""
    folders: dict[Path, dict[str, list[Path]]] = {}

    def direct(video_id: str) -> list[Path]:
        path = root / video_id
        if path.parent not in folders:
            folders[path.parent] = _names(path.parent)
        return folders[path.parent].get(path.name, [])

    found = [direct(line.name) for _, line in lines]
    if not any(found):
        nested = _nested_names(root)
        found = [nested.get(Path(line.name).name, []) for _, line in lines]
    entries = []
    for (number, line), paths in zip(lines, found, strict=True):
        if len({path.parent for path in paths}) > 1:
            shown = ", ".join(str(path) for path in paths[:2])
            raise DataError(f"{list_file}:{number}: id {line.name!r} names both {shown}")
        if not paths:
            entries.append(VideoEntry(str(root / line.name), line.label))
            continue
        frames = line.frames if paths[0].is_dir() else None
        entries.append(VideoEntry(str(paths[0]), line.label, frames))
    return entries


def _names(folder: Path) -> dict[str, list[Path]]:
    """What ids name in `folder`: video files by name and by stem, then folders by name."""
    names: dict[str, list[Path]] = {}
    paths = sorted(folder.iterdir()) if folder.is_dir() else []
    for path in paths:
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            for key in (path.name, path.stem):
                names.setdefault(key, []).append(path)
    for path in paths:
        if path.is_dir():
            names.setdefault(path.name, []).append(path)
    return names


def _nested_names(root: Path) -> dict[str, list[Path]]:
    """What ids name in the folders of `root`."""
    nested: dict[str, list[Path]] = {}
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        for name, paths in _names(folder).items():
            nested.setdefault(name, []).extend(paths)
    return nested
