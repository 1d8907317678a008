"""The errors a user can cause, and so can fix: each ends a command with one line and exit code 2.

Anything else raised (a bug, inside this project or in torch, numpy, Ray) is not a `UserError`
and keeps its traceback, so it can be reported and fixed. `Interrupted` is how SIGINT and SIGTERM
stop a command (`signals_as_interrupts`).
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class UserError(Exception):
    """A problem with what the user asked for or pointed at, described in one line."""


class ConfigError(UserError):
    """A setting, flag or configuration value that cannot be used as given."""


class SearchError(UserError):
    """The search cannot go on (bad settings, or every candidate of a step failed)."""


class DataError(UserError):
    """A problem with the data a user pointed at (a root, a list file, unreadable videos)."""


class CheckpointError(UserError):
    """A checkpoint that cannot be read or does not fit the requested model."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM stopped a command; `hint` says how to continue (e.g. `resume=DIR`).

    A `BaseException`, like `KeyboardInterrupt`, so that no `except Exception` (a trial's retry
    loop, a library) mistakes it for a failure of the work it interrupts.
    """

    def __init__(self, signum: int, hint: str = "") -> None:
        super().__init__(signum, hint)
        self.signum = signum
        self.hint = hint


_stop_requested: int | None = None  # the signal that asked to stop, if one did
_deferring = 0  # > 0 inside `deferred_interrupts`


def stop_requested() -> bool:
    """Whether SIGINT or SIGTERM arrived inside `signals_as_interrupts` (work after it, such as
    a library's clean-up calling back, must not be taken for results)."""
    return _stop_requested is not None


def _on_stop_signal(signum: int, frame: object) -> None:
    global _stop_requested
    first = _stop_requested is None
    _stop_requested = signum
    if not _deferring or not first:  # a second signal does not wait
        raise Interrupted(signum)


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within, SIGINT and SIGTERM raise `Interrupted` in the main thread (restored after).

    Code that starts libraries which set their own handlers (Ray sets SIGTERM's) enters it again
    after starting them.
    """
    global _stop_requested
    _stop_requested = None
    previous = {number: signal.signal(number, _on_stop_signal) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Within, a stop signal only sets `stop_requested()`, and `Interrupted` is raised on leaving.

    For code inside a library's compiled loop (Ray's), where an exception raised by a signal
    handler surfaces as a `SystemError`: the code polls `stop_requested()` and winds down.
    """
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _stop_requested is not None:
        raise Interrupted(_stop_requested)
