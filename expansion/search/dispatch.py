"""Running a step's candidates: the dispatcher protocol and the in-process dispatcher.

A dispatcher trains every `TrialSpec` it is given and hands each outcome to `on_result` the
moment that trial ends, so the caller can record it before anything else can go wrong. It is told
how many candidates the whole step has (`step_size`, finished ones included), so that it sizes
trials alike whether a step runs whole or resumes part-way. A trial that raises is retried up to
`max_failures` times and then recorded as failed; the search goes on. `open_dispatcher` gives the
one a search's settings ask for; Ray's lives in `expansion.search.ray_trials`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from expansion.errors import UserError
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training.resources import Resources
from expansion.training.trial import TrialJob

Report = Callable[[dict[str, Any]], None]
TrialFunction = Callable[[TrialSpec, TrialJob, Report | None], TrialOutcome]
OnResult = Callable[[TrialSpec, TrialOutcome], None]


DispatcherName = Literal["ray", "inline"]
DISPATCHERS: tuple[DispatcherName, ...] = ("ray", "inline")


class Dispatcher(Protocol):
    """Trains candidates, handing each outcome to `on_result` as it ends."""

    def run(self, trials: Sequence[TrialSpec], on_result: OnResult, step_size: int) -> None: ...


def cpus_per_trial(resources: Resources, step_size: int, local_cpus: int | None) -> int:
    """CPUs (and torch threads) for each trial of a step of `step_size` candidates.

    `resources.cpus`, except on a machine of its own (`local_cpus`, None on a cluster) without
    GPUs, where a step of fewer candidates than fit at once shares out the idle CPUs: the lone
    seed or contraction trial of a 2-core machine gets both. A function of the step, not of what
    is left of it, so a resumed search trains with the same threads (and results) as an
    uninterrupted one.
    """
    if local_cpus is None or resources.gpus > 0:
        return resources.cpus
    return max(resources.cpus, local_cpus // max(step_size, 1))


def describe_error(error: BaseException) -> str:
    """One line for the results table: the exception type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def describe_traceback(error: BaseException) -> str:
    """The traceback of an exception that is not a `UserError` (a bug); "" for a user's error."""
    if isinstance(error, UserError):
        return ""
    return "".join(traceback.format_exception(error)).rstrip()


def failed(error: BaseException | str, trace: str = "") -> TrialOutcome:
    """The outcome of a trial that raised (after its retries), with the traceback of a bug."""
    if isinstance(error, BaseException):
        return TrialOutcome(
            status="failed", error=describe_error(error), traceback=describe_traceback(error)
        )
    return TrialOutcome(status="failed", error=error, traceback=trace)


class InlineDispatcher:
    """Trains candidates one after another in this process (debugging, tests, notebooks)."""

    def __init__(self, job: TrialJob, trial_function: TrialFunction) -> None:
        self.job = job
        self.trial_function = trial_function

    def run(self, trials: Sequence[TrialSpec], on_result: OnResult, step_size: int) -> None:
        for spec in trials:
            on_result(spec, self._attempt(spec))

    def _attempt(self, spec: TrialSpec) -> TrialOutcome:
        error: Exception | None = None
        for _ in range(self.job.resources.max_failures + 1):
            try:
                return self.trial_function(spec, self.job, None)
            except Exception as raised:  # a crashed trial is a result; the search goes on
                error = raised
        assert error is not None
        return failed(error)


@contextmanager
def open_dispatcher(
    name: DispatcherName,
    job: TrialJob,
    trial_function: TrialFunction,
    storage: Path,
    ray_address: str | None,
) -> Iterator[Dispatcher]:
    """The dispatcher called `name`; Ray (imported only when asked for) for as long as it is open.

    `storage` is where Ray Tune keeps its own files.
    """
    if name == "inline":
        yield InlineDispatcher(job, trial_function)
        return
    from expansion.search.ray_trials import RayDispatcher
    from expansion.training.ray_session import ray_session

    with ray_session(ray_address) as session:
        yield RayDispatcher(job, storage, session, trial_function)
