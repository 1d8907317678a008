"""Compose the project's Hydra configurations in tests, as the entry points would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[1] / "conf"


def compose_config(name: str, *overrides: str) -> dict[str, Any]:
    """`conf/<name>.yaml` with command-line style `overrides`, resolved to a plain mapping."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = compose(name, overrides=list(overrides))
    return OmegaConf.to_container(config, resolve=True)  # type: ignore[return-value]
