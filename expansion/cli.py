"""The skeleton every command shares: settings in, one line and exit code 2 for a user's error
out, a clean stop on Ctrl-C or SIGTERM.

- A `UserError` (bad settings, data, checkpoint, search), a Hydra composition error, or a file
  system refusal the user can fix (permission, read-only, disk full, a file where a folder
  belongs) ends the command with `<prog>: error: <message>` on stderr and exit code 2.
- SIGINT and SIGTERM end it with `<prog>: interrupted (SIGINT); <how to continue>` and exit
  code 130 or 143 (128 + the signal).
- Any other exception is a bug: it keeps its traceback and exits 1; whatever a run recorded
  before it stays on disk.

Commands compose `conf/<name>.yaml` with Hydra's compose API and the command line's overrides
(`key=value`, `group=option`); Hydra's own run folders and logs are not used, so a command that
is refused writes nothing.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from expansion.errors import ConfigError, Interrupted, UserError, signals_as_interrupts

CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"
HYDRA_VERSION = "1.3"
# File system refusals that the user's paths or machine cause, and the user can fix.
USER_OS_ERRORS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR}
    | {errno.EEXIST, errno.EISDIR}
)


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr and exit code 2, without the usage block."""

    def error(self, message: str) -> NoReturn:
        _fail(self.prog, message)


def _fail(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


@contextmanager
def user_errors_as_one_line(prog: str) -> Iterator[None]:
    """Turn a user's error raised inside into one line and exit 2, an interrupt into 128 + sig."""
    try:
        with signals_as_interrupts():
            yield
    except UserError as error:
        _fail(prog, str(error))
    except OSError as error:
        if error.errno not in USER_OS_ERRORS:
            raise
        where = f": {error.filename}" if error.filename else ""
        _fail(prog, f"{error.strerror}{where}")
    except Interrupted as stop:
        name = signal.Signals(stop.signum).name
        hint = f"; {stop.hint}" if stop.hint else ""
        print(f"{prog}: interrupted ({name}){hint}", file=sys.stderr)
        sys.exit(128 + stop.signum)


def compose_settings(config_name: str, overrides: Sequence[str]) -> dict[str, Any]:
    """`conf/<config_name>.yaml` with command-line overrides, resolved to a plain mapping.

    A composition error (unknown key or option, bad override syntax) is a `ConfigError`.
    """
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=HYDRA_VERSION):
            config = compose(config_name, overrides=list(overrides))
        settings = OmegaConf.to_container(config, resolve=True)
    except (HydraException, OmegaConfBaseException) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise ConfigError(" ".join(lines) or type(error).__name__) from None
    assert isinstance(settings, dict)
    return settings


def override_keys(overrides: Sequence[str]) -> list[str]:
    """The top-level settings that command-line overrides name (`ray.address=x` → `ray`)."""
    keys = []
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        keys.append(key.split(".", 1)[0].split("@", 1)[0])
    return keys


def hydra_command(
    prog: str, config_name: str, function: Callable[[dict[str, Any], list[str]], object]
) -> Callable[[Sequence[str] | None], None]:
    """A `main(argv)` that composes `conf/<config_name>.yaml` with the overrides in `argv` and
    calls `function(settings, overrides)`."""

    def main(argv: Sequence[str] | None = None) -> None:
        overrides = list(sys.argv[1:] if argv is None else argv)
        if {"-h", "--help"} & set(overrides):
            print(f"usage: python -m {prog} [key=value ...]   (settings: conf/{config_name}.yaml)")
            return
        with user_errors_as_one_line(prog):
            function(compose_settings(config_name, overrides), overrides)

    return main
