"""Class names from a label map file, in the layouts video datasets ship them in.

- `name index` per line (mmaction2's `kinetics_class2ind.txt`; a comma or tab may separate them),
  or `index name`: every line must then pair one name with one index, each index 0 … n-1 once.
- Otherwise one name per line, in label order (mmaction2's `label_map_k400.txt`).

Blank lines are skipped; there must be exactly one name per class.
"""

from __future__ import annotations

import re
from pathlib import Path

from expansion.data.errors import DataError

_NAME_INDEX = re.compile(r"(?P<name>.*?\S)[\s,]+(?P<index>\d+)")
_INDEX_NAME = re.compile(r"(?P<index>\d+)[\s,]+(?P<name>\S.*)")


def read_label_map(path: str | Path, num_classes: int) -> tuple[str, ...]:
    """The names of classes 0 … `num_classes` - 1; a bad file is a one-line `DataError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"cannot read label map {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise DataError(f"label map {path} is not UTF-8 text ({error.reason})") from None
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    names = _paired(path, lines) or [line for _, line in lines]
    if len(names) != num_classes:
        raise DataError(f"label map {path} names {len(names)} classes, the data has {num_classes}")
    return tuple(names)


def _paired(path: Path, lines: list[tuple[int, str]]) -> list[str] | None:
    """Names by index when every line pairs a name with an index (either order), else None."""
    for pattern in (_NAME_INDEX, _INDEX_NAME):
        matches = [pattern.fullmatch(line) for _, line in lines]
        if lines and all(matches):
            names: dict[int, str] = {}
            for (number, _), match in zip(lines, matches, strict=True):
                assert match is not None
                index = int(match["index"])
                if index in names:
                    raise DataError(f"{path}:{number}: index {index} named twice")
                names[index] = match["name"].strip()
            missing = sorted(set(range(len(names))) - set(names))
            if missing:
                raise DataError(f"label map {path} has no name for index {missing[0]}")
            return [names[index] for index in range(len(names))]
    return None
