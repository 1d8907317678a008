"""The one place that starts a local Ray instance or joins a cluster, and leaves it again.

Search trials (`expansion.search.ray_trials`) and data-parallel training
(`expansion.training.distributed`) both run inside `ray_session(address)`. Environment switches
that Ray reads at import time are set here, before ray is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from expansion.errors import ConfigError

# No auth token file in the home folder; workers' prints reach the console once (Ray Train's
# print patch would add a logged copy); no cloud preemption watcher; Tune's legacy console
# reporter, quiet with verbose=0; log lines not folded together; Tune leaves SIGINT to the
# caller (its own handler would end a run "gracefully", as if the interrupted trials had ended).
for _name, _value in (
    ("TUNE_DISABLE_SIGINT_HANDLER", "1"),
    ("RAY_AUTH_MODE", "disabled"),
    ("RAY_TRAIN_ENABLE_PRINT_PATCH", "0"),
    ("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0"),
    ("RAY_AIR_NEW_OUTPUT", "0"),
    ("RAY_DEDUP_LOGS", "0"),
):
    os.environ.setdefault(_name, _value)

import ray  # noqa: E402  (after the switches above)


@dataclass(frozen=True)
class RaySession:
    """The instance in use: whether this process started it, and the most CPUs and GPUs one
    of its nodes offers (a task never spans nodes)."""

    started: bool
    node_cpus: float
    node_gpus: float

    def check_fits(self, cpus: float, gpus: float) -> None:
        """A one-line `ConfigError` when no node can ever give a task `cpus` and `gpus`: Ray
        would wait for it forever."""
        for kind, asked, offered in (
            ("cpus", cpus, self.node_cpus),
            ("gpus", gpus, self.node_gpus),
        ):
            if asked > offered:
                raise ConfigError(
                    f"trial.{kind}={asked:g} but the largest node of the Ray cluster offers "
                    f"{offered:g}"
                )


@contextmanager
def ray_session(address: str | None, log_to_driver: bool = False) -> Iterator[RaySession]:
    """Start a local Ray instance (`address` None) or join a cluster (`"auto"`, `host:port`).

    An instance already running in this process is used as it is and left running. Joining a
    cluster that is not there is a one-line `ConfigError`.
    """
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=address,
                log_to_driver=log_to_driver,
                logging_level="ERROR",
                include_dashboard=False,
                configure_logging=True,
                # Ray's own actors warn that the state API is missing without the dashboard.
                logging_config=ray.LoggingConfig(log_level="ERROR"),
            )
        except ConnectionError as error:
            reason = str(error).splitlines()[0]
            raise ConfigError(f"ray.address={address}: cannot join a cluster ({reason})") from None
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    most = {
        kind: max((node.get(kind, 0.0) for node in nodes), default=0.0) for kind in ("CPU", "GPU")
    }
    try:
        yield RaySession(started, most["CPU"], most["GPU"])
    finally:
        if started:
            ray.shutdown()
