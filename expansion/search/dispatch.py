"""Running a step's candidates: the dispatcher protocol and the in-process dispatcher.

A dispatcher trains every `TrialSpec` it is given with the job it is given (whose resources the
driver sized for the step: `cpus_per_trial`) and hands each outcome to `on_result` the moment
that trial ends, so the caller can record it before anything else can go wrong. A trial that
raises is retried up to `max_failures` times and then recorded as failed; the search goes on.
`open_dispatcher` gives the one a search's settings ask for; Ray's lives in
`expansion.search.ray_trials`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from expansion.errors import UserError
from expansion.search.records import Failure, TrialOutcome, TrialSpec
from expansion.training.resources import Resources
from expansion.training.trial import TrialJob

Report = Callable[[dict[str, Any]], None]
TrialFunction = Callable[[TrialSpec, TrialJob, Report | None], TrialOutcome]
OnResult = Callable[[TrialSpec, TrialOutcome], None]


DispatcherName = Literal["ray", "inline"]
DISPATCHERS: tuple[DispatcherName, ...] = ("ray", "inline")


class Dispatcher(Protocol):
    """Trains candidates, handing each outcome to `on_result` as it ends."""

    def run(self, trials: Sequence[TrialSpec], job: TrialJob, on_result: OnResult) -> None: ...


def cpus_per_trial(resources: Resources, step_size: int, machine_cpus: int | None) -> int:
    """CPUs (and torch threads) for each trial of a step of `step_size` candidates.

    `resources.cpus`, except on a machine of its own (`machine_cpus`, None on a cluster) without
    GPUs, where a step of fewer candidates than fit at once shares out the idle CPUs: the lone
    seed or contraction trial of a 2-core machine gets both. A function of the step and of the
    settings (the machine's CPUs are recorded when the search starts), not of what is left of
    the step or of the dispatcher, so a resumed search trains with the same threads (and
    results) as an uninterrupted one.
    """
    if machine_cpus is None or resources.gpus > 0:
        return resources.cpus
    return max(resources.cpus, machine_cpus // max(step_size, 1))


def describe_error(error: BaseException) -> str:
    """One line for the results table: the exception type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def describe_traceback(error: BaseException) -> str:
    """The traceback of an exception that is not a `UserError` (a bug); "" for a user's error."""
    if isinstance(error, UserError):
        return ""
    return "".join(traceback.format_exception(error)).rstrip()


def failed(error: BaseException | str, trace: str = "", failure: Failure = "lost") -> TrialOutcome:
    """The outcome of a trial that raised (after its retries), or that ended without a result.

    An exception is a `data` failure when it is a user's error (unreadable data, a bad setting)
    and an `error` otherwise, with its traceback; a message alone is a `lost` trial (its worker
    died) unless `failure` says otherwise.
    """
    if isinstance(error, BaseException):
        kind: Failure = "data" if isinstance(error, UserError) else "error"
        message, trace = describe_error(error), describe_traceback(error)
        return TrialOutcome(status="failed", error=message, traceback=trace, failure=kind)
    return TrialOutcome(status="failed", error=error, traceback=trace, failure=failure)


class InlineDispatcher:
    """Trains candidates one after another in this process (debugging, tests, notebooks)."""

    def __init__(self, trial_function: TrialFunction) -> None:
        self.trial_function = trial_function

    def run(self, trials: Sequence[TrialSpec], job: TrialJob, on_result: OnResult) -> None:
        for spec in trials:
            on_result(spec, self._attempt(spec, job))

    def _attempt(self, spec: TrialSpec, job: TrialJob) -> TrialOutcome:
        error: Exception | None = None
        for _ in range(job.resources.max_failures + 1):
            try:
                return self.trial_function(spec, job, None)
            except Exception as raised:  # a crashed trial is a result; the search goes on
                error = raised
        assert error is not None
        return failed(error)


@contextmanager
def open_dispatcher(
    name: DispatcherName, trial_function: TrialFunction, storage: Path, ray_address: str | None
) -> Iterator[Dispatcher]:
    """The dispatcher called `name`; Ray (imported only when asked for) for as long as it is open.

    `storage` is where Ray Tune keeps its own files.
    """
    if name == "inline":
        yield InlineDispatcher(trial_function)
        return
    from expansion.search.ray_trials import RayDispatcher
    from expansion.training.ray_session import ray_session

    with ray_session(ray_address) as session:
        yield RayDispatcher(storage, session, trial_function)
