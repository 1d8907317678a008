"""Start or resume a run in its folder: the skeleton the search and full training share.

A new run refuses a folder that already holds one; `resume=DIR` reads the settings the run was
started with (`search.yaml`, `train.yaml`), so it continues as the run it is, with only the
settings that cannot change its results (where it runs) taken from the command line. The
settings file is written atomically, once the new run's settings have been checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from expansion.config_values import absolute_path
from expansion.errors import ConfigError
from expansion.results.atomic import write_atomically


@dataclass(frozen=True)
class RunFolder:
    """A run's folder, the settings in force, and whether they were read back from it."""

    path: Path
    settings_file: str
    config: dict[str, Any]
    resumed: bool

    def save_settings(self) -> None:
        """Record a new run's settings (a resumed run keeps the ones it has)."""
        if self.resumed:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump({**self.config, "resume": None}, sort_keys=False)
        write_atomically(self.path / self.settings_file, lambda path: path.write_text(text))


def open_run_folder(
    config: Mapping[str, Any],
    *,
    folder_key: str,
    settings_file: str,
    what: str,
    resumable: Sequence[str],
    holds: Sequence[str] = (),
    default: Path | None = None,
) -> RunFolder:
    """The folder `resume=`, else `<folder_key>=`, else `default` names, with its settings.

    `what` names the kind of run in messages ("search", "training"); `holds` lists files besides
    the settings file that mark a folder as taken; `resumable` the settings a resume may change.
    """
    resume = config.get("resume")
    location = resume or config.get(folder_key) or default
    if not location:
        raise ConfigError(f"{folder_key}=DIR is required (or resume=DIR to continue a run)")
    path = absolute_path(location)
    saved = path / settings_file
    if resume:
        if not saved.is_file():
            raise ConfigError(f"cannot resume {path}: no {settings_file} (not a {what} run)")
        original = yaml.safe_load(saved.read_text())
        config = {**original, **{key: config[key] for key in resumable if key in config}}
    elif any((path / name).exists() for name in (settings_file, *holds)):
        raise ConfigError(f"{path} already holds a {what} run; continue it with resume={path}")
    return RunFolder(path, settings_file, dict(config), bool(resume))
