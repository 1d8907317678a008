"""The skeleton every command shares: Hydra or argparse in, one line and exit code 2 for a
`UserError` out.

A `UserError` (bad settings, data, checkpoint, search) ends the command with
`<prog>: error: <message>` on stderr and exit code 2. Any other exception is a bug: it keeps its
traceback and a non-zero exit (1), and whatever a run recorded before it stays on disk.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import hydra
from omegaconf import DictConfig, OmegaConf

from expansion.errors import UserError

# The project's configurations, as an absolute path: Hydra would resolve a relative one against
# the package of the function it decorates (`expansion`), not against this file's folder.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")
HYDRA_VERSION = "1.3"

# conf/config.yaml: a search's output folder is its run folder, resume=DIR, else run_dir=DIR,
# else a new one.
OmegaConf.register_new_resolver(
    "first_given",
    lambda *values: next(value for value in values if value is not None),
    replace=True,
)


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr and exit code 2, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


@contextmanager
def user_errors_as_one_line(prog: str) -> Iterator[None]:
    """Turn a `UserError` raised inside into `prog: error: message` and exit code 2."""
    try:
        yield
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)


def hydra_command(
    prog: str, config_name: str, function: Callable[[dict[str, Any]], object]
) -> Callable[[], None]:
    """A `main()` that composes `conf/<config_name>.yaml` with the command line and calls
    `function` with the resolved configuration as a plain mapping."""

    @hydra.main(version_base=HYDRA_VERSION, config_path=CONFIG_DIR, config_name=config_name)
    def main(config: DictConfig) -> None:
        settings = OmegaConf.to_container(config, resolve=True)
        assert isinstance(settings, dict)
        with user_errors_as_one_line(prog):
            function(settings)

    return main
