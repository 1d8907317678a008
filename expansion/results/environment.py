"""What a run was computed with, recorded at every start and resume (`environment.yaml`).

A trial is bit-reproducible for the same specification, threads and environment, not across
environments: the benchmark's seed trial (seed 0, two threads, the same pinned torch) trained in
a later session, with a virtual environment installed again and perhaps on another machine
(nothing recorded which), called 30 of 240 validation videos differently at the same top-1. A
resume trains some trials again (weights a clone lacks, retried failures); where the environment
has changed since the run was recorded, those may part from the recorded ones, and the console
says what changed. The file is a record, not a result: one that cannot be read is started anew.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import yaml

from expansion.results.atomic import write_atomically

ENVIRONMENT_YAML = "environment.yaml"
# the packages whose numerics or data decoding a trial's result depends on
PACKAGES = ("torch", "numpy", "av", "ray")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def current_environment() -> dict[str, str]:
    """This process's Python, result-relevant packages, CPU and GPUs, as text."""
    environment = {"python": platform.python_version()}
    environment |= {package: _version(package) for package in PACKAGES}
    environment["cpu"] = f"{_cpu_model()} ({torch.backends.cpu.get_cpu_capability()})"
    if torch.cuda.is_available():
        names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
        environment["gpus"] = ", ".join(names)
        environment["cuda"] = str(torch.version.cuda)
    return environment


def changes(recorded: Mapping[str, Any], now: Mapping[str, str]) -> list[str]:
    """`name recorded → now` for each entry that differs (a missing one reads "none")."""
    names = [name for name in now if name != "started"]
    names += [name for name in recorded if name not in now and name != "started"]
    return [
        f"{name} {recorded.get(name, 'none')} → {now.get(name, 'none')}"
        for name in names
        if str(recorded.get(name, "none")) != str(now.get(name, "none"))
    ]


def record_environment(run_dir: Path) -> str | None:
    """Append this sitting's environment to `run_dir/environment.yaml`; a one-line notice if it
    differs from the last sitting's, None otherwise (or for the first)."""
    path = run_dir / ENVIRONMENT_YAML
    notice = None
    try:
        sittings = yaml.safe_load(path.read_text()) if path.exists() else None
    except (yaml.YAMLError, UnicodeDecodeError):
        sittings = None
        notice = f"environment: {path} could not be read; it starts again with this sitting"
    sittings = sittings if isinstance(sittings, list) else []
    now = current_environment()
    if sittings and isinstance(sittings[-1], Mapping) and (changed := changes(sittings[-1], now)):
        notice = (
            f"environment: this run was last computed with another environment "
            f"({'; '.join(changed)}): trials trained again may part from the recorded ones"
        )
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = yaml.safe_dump([*sittings, {"started": started, **now}], sort_keys=False)
    write_atomically(path, lambda temporary: temporary.write_text(text))
    return notice
