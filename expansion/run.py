"""`python -m expansion.run target_gflops=6`: an expansion search configured by Hydra (conf/).

The Hydra wrapper only composes the configuration and reports errors; `expansion.search.run`
does the work and is what tests call.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from expansion.cli import call_with_config
from expansion.search import run

# Hydra's output folder is the run folder: resume=DIR, else run_dir=DIR, else a new one.
OmegaConf.register_new_resolver(
    "first_given", lambda *values: next(value for value in values if value is not None)
)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(config: DictConfig) -> None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    call_with_config("expansion.run", config, lambda settings: run(settings, output_dir))


if __name__ == "__main__":
    main()
