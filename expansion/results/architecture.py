"""Architecture files (`final.yaml`): a search space's name and one configuration, as YAML.

The search writes the chosen model this way; `describe`, `evaluate` and `train` read it back, or
take a preset name of the configured space instead of a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from expansion.errors import ConfigError, UserError
from search_spaces import DEFAULT_SPACE, SearchSpace, get_space

ARCHITECTURE_SUFFIXES = (".yaml", ".yml")
# `arch=auto`: the architecture a checkpoint holds (`checkpoint_architecture`).
AUTO_ARCH = "auto"


def save_architecture(
    path: str | Path, space: SearchSpace, config: Any, details: Mapping[str, Any] | None = None
) -> None:
    """Write `config` of `space` to `path`; `details` (GFLOPs, accuracy, …) go alongside it."""
    document = {"space": space.name, "config": space.to_dict(config), **(details or {})}
    Path(path).write_text(yaml.safe_dump(document, sort_keys=False))


def load_architecture(path: str | Path) -> tuple[SearchSpace, Any]:
    """The search space and configuration stored in an architecture file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read architecture file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "unreadable"
        raise ConfigError(f"architecture file {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise ConfigError(f"architecture file {path} has no 'config' mapping")
    space = get_space(document.get("space", DEFAULT_SPACE))
    try:
        return space, space.from_dict(document["config"])
    except UserError as error:
        raise ConfigError(f"architecture file {path}: {error}") from None


def find_preset(space: SearchSpace, name: str) -> Any | None:
    """The preset of `space` called `name` (case-insensitive), or None."""
    presets = {preset.upper(): config for preset, config in space.presets.items()}
    return presets.get(name.upper())


def resolve_architecture(
    name_or_path: str, space: SearchSpace | None = None
) -> tuple[SearchSpace, Any]:
    """A preset of `space` (default: the default space) by name, or an architecture file."""
    space = space or get_space(DEFAULT_SPACE)
    preset = find_preset(space, name_or_path)
    if preset is not None:
        return space, preset
    if Path(name_or_path).suffix in ARCHITECTURE_SUFFIXES or Path(name_or_path).exists():
        return load_architecture(name_or_path)
    known = ", ".join(space.presets)
    raise ConfigError(f"unknown architecture {name_or_path!r}: not a preset ({known}) nor a file")
