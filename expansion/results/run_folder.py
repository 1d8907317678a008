"""Start or resume a run in its folder: the skeleton the search and full training share.

A new run refuses a folder that already holds one; `resume=DIR` reads the settings the run was
started with (`search.yaml`, `train.yaml`), which are the run's identity: only the settings that
cannot change its results (where it runs) may be overridden, and an override that is ignored is
named. The settings file is written atomically, once the new run's settings have been checked.
One process at a time drives a folder: `RunLock` holds an advisory lock on `DIR/.lock` that the
operating system releases when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from expansion.config_values import absolute_path, read_yaml_mapping
from expansion.errors import ConfigError
from expansion.results.atomic import write_atomically

LOCK_FILE = ".lock"


@dataclass(frozen=True)
class RunFolder:
    """A run's folder, the settings in force, whether they were read back from it, and the
    command-line overrides a resume ignored."""

    path: Path
    settings_file: str
    config: dict[str, Any]
    resumed: bool
    ignored: tuple[str, ...] = field(default=())

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
    overrides: Sequence[str] | None = None,
) -> RunFolder:
    """The folder `resume=`, else `<folder_key>=`, else `default` names, with its settings.

    `what` names the kind of run in messages ("search", "training"); `holds` lists files besides
    the settings file that mark a folder as taken; `resumable` the settings a resume may change.
    `overrides` are the top-level keys the command line set: on resume, those in `resumable`
    apply and the others are returned as ignored; None (a caller without a command line) applies
    every resumable key present in `config`.
    """
    resume = config.get("resume")
    location = resume or config.get(folder_key) or default
    if not location:
        raise ConfigError(f"{folder_key}=DIR is required (or resume=DIR to continue a run)")
    path = absolute_path(location)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file, not a folder for a {what} run")
    saved = path / settings_file
    if not resume:
        if any((path / name).exists() for name in (settings_file, *holds)):
            raise ConfigError(f"{path} already holds a {what} run; continue it with resume={path}")
        return RunFolder(path, settings_file, dict(config), resumed=False)
    original = read_yaml_mapping(saved) if saved.is_file() else None
    if original is None:
        raise ConfigError(f"cannot resume {path}: no {settings_file} (not a {what} run)")
    given = list(config) if overrides is None else list(overrides)
    applied = [key for key in resumable if key in given and key in config]
    ignored = [] if overrides is None else sorted(set(given) - set(resumable) - {"resume"})
    merged = {**original, **{key: config[key] for key in applied}}
    return RunFolder(path, settings_file, merged, resumed=True, ignored=tuple(ignored))


class RunLock:
    """An exclusive hold on a run folder for as long as this process keeps it.

    `flock` locks belong to the open file, so the operating system drops them when the process
    exits or is killed: a SIGKILL never leaves a stale lock. The holder's process id is written
    into the lock file so that a refused command can name it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.descriptor: int | None = None

    def __enter__(self) -> RunLock:
        path = self.folder / LOCK_FILE
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise ConfigError(
                f"{self.folder} is in use by process {holder}: one search or resume at a time"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self.descriptor = descriptor
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # releases the lock
            self.descriptor = None
