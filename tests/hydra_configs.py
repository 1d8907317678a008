"""Compose the project's configurations in tests, as the entry points do."""

from __future__ import annotations

from typing import Any

from expansion.cli import CONFIG_DIR, compose_settings

CONF = CONFIG_DIR
# A whole search in seconds: the smoke schedule, a few small videos of the quick built-in
# dataset, three axes, two steps, each candidate trained once (the tests of confirmation turn
# confirmations on).
SMALL_SEARCH = [
    "confirm_seeds=0",
    "trial=smoke",
    "data=blinks",
    "data.num_train=24",
    "data.num_val=12",
    "target_gflops=0.05",
    "axes=[spatial,depth,frame_rate]",
]


def compose_config(name: str, *overrides: str) -> dict[str, Any]:
    """`conf/<name>.yaml` with command-line style `overrides`, resolved to a plain mapping."""
    return compose_settings(name, overrides)
