"""Running a step's candidates: the dispatcher protocol and the in-process dispatcher.

A dispatcher trains every `TrialSpec` it is given and hands each outcome to `on_result` the
moment that trial ends, so the caller can record it before anything else can go wrong. It is told
how many candidates the whole step has (`step_size`, finished ones included), so that it sizes
trials alike whether a step runs whole or resumes part-way. A trial that raises is retried up to
`max_failures` times and then recorded as failed; the search goes on. Ray's dispatcher lives in
`expansion.ray_dispatch`, the one module that imports ray.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from expansion.records import TrialOutcome, TrialSpec
from expansion.training.settings import TrialJob, TrialSettings
from expansion.training.trial import run_trial

Report = Callable[[dict[str, Any]], None]
TrialFunction = Callable[[TrialSpec, TrialJob, Report | None], TrialOutcome]
OnResult = Callable[[TrialSpec, TrialOutcome], None]


class Dispatcher(Protocol):
    """Trains candidates; `close` releases whatever it started (workers, a Ray instance)."""

    def run(self, trials: Sequence[TrialSpec], on_result: OnResult, step_size: int) -> None: ...

    def threads(self, step_size: int) -> int:
        """The CPUs (torch threads) each trial of a step of `step_size` candidates gets."""
        ...

    def close(self) -> None: ...


def cpus_per_trial(settings: TrialSettings, step_size: int, local_cpus: int | None) -> int:
    """CPUs (and torch threads) for each trial of a step of `step_size` candidates.

    `settings.cpus`, except on a machine of its own (`local_cpus`, None on a cluster) without
    GPUs, where a step of fewer candidates than fit at once shares out the idle CPUs: the lone
    seed or contraction trial of a 2-core machine gets both. A function of the step, not of what
    is left of it, so a resumed search trains with the same threads (and results) as an
    uninterrupted one.
    """
    if local_cpus is None or settings.gpus > 0:
        return settings.cpus
    return max(settings.cpus, local_cpus // max(step_size, 1))


def describe_error(error: BaseException) -> str:
    """One line for the results table: the exception type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def failed(error: BaseException | str) -> TrialOutcome:
    """The outcome of a trial that raised (after its retries)."""
    message = error if isinstance(error, str) else describe_error(error)
    return TrialOutcome(status="failed", error=message)


class InlineDispatcher:
    """Trains candidates one after another in this process (debugging, tests, notebooks)."""

    def __init__(self, job: TrialJob, trial_function: TrialFunction = run_trial) -> None:
        self.job = job
        self.trial_function = trial_function

    def run(self, trials: Sequence[TrialSpec], on_result: OnResult, step_size: int) -> None:
        for spec in trials:
            on_result(spec, self._attempt(spec))

    def threads(self, step_size: int) -> int:
        return self.job.settings.cpus

    def _attempt(self, spec: TrialSpec) -> TrialOutcome:
        error: Exception | None = None
        for _ in range(self.job.settings.max_failures + 1):
            try:
                return self.trial_function(spec, self.job, None)
            except Exception as raised:  # a crashed trial is a result; the search goes on
                error = raised
        assert error is not None
        return failed(error)

    def close(self) -> None:
        pass
