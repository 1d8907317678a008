"""What the command-line entry points share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from omegaconf import DictConfig, OmegaConf


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr and exit code 2, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def call_with_config(
    prog: str, config: DictConfig, function: Callable[[dict[str, Any]], object]
) -> None:
    """Call `function` with the resolved Hydra configuration as a plain mapping.

    Every user-facing error of the project is a `ValueError` with a one-line message: it ends
    the program with that line on stderr and exit code 2, without a traceback.
    """
    settings = OmegaConf.to_container(config, resolve=True)
    assert isinstance(settings, dict)
    try:
        function(settings)
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
