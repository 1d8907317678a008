"""`python -m expansion.run target_gflops=6`: an expansion search configured by Hydra (conf/).

This module only composes the configuration and reports errors; `expansion.search.driver`
does the work and is what tests call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig

from expansion.cli import hydra_command
from expansion.search.driver import run_search


def _search(settings: dict[str, Any]) -> None:
    run_search(settings, Path(HydraConfig.get().runtime.output_dir))


main = hydra_command("expansion.run", "config", _search)

if __name__ == "__main__":
    main()
