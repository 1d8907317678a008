"""`python -m expansion.run target_gflops=6`: an expansion search configured by conf/config.yaml.

This module only composes the configuration and reports errors; `expansion.search.driver`
does the work and is what tests call. A new search without `run_dir=` writes to
`runs/<date>_<time>/`; `dry_run=true` prints the plan and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from expansion.cli import hydra_command, override_keys
from expansion.config_values import as_bool
from expansion.search.driver import dry_run, run_search

RUNS = Path("runs")


def _search(settings: dict[str, Any], overrides: list[str]) -> None:
    if as_bool(settings.get("dry_run", False), "dry_run"):
        dry_run(settings)
        return
    default = RUNS / datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
    run_search(settings, default, overrides=override_keys(overrides))


main = hydra_command("expansion.run", "config", _search)

if __name__ == "__main__":
    main()
