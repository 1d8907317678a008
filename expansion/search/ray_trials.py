"""Candidates as Ray Tune trials: the only module of the search that imports ray.

Each step's candidates are one `tune.Tuner` run. Trials get `trial.cpus` CPUs and `trial.gpus`
GPUs (fractions share a GPU); Ray retries a trial that raised `trial.max_failures` times. Ray is
started or joined by `expansion.training.ray_session`. On a local CPU-only instance, a step of
fewer candidates than the machine runs at once gives each trial a share of the idle CPUs as
torch threads (`cpus_per_trial`, applied by the driver). Ray's own console output is kept quiet;
its files go under the run directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from expansion.errors import deferred_interrupts, stop_requested
from expansion.search.dispatch import (
    OnResult,
    TrialFunction,
    describe_error,
    describe_traceback,
    failed,
)
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training.ray_session import RaySession
from expansion.training.trial import TrialJob

from ray import tune  # isort: skip  (after ray_session has set Ray's switches)
from ray.exceptions import RayActorError, WorkerCrashedError  # isort: skip

FINAL = "final_outcome"
OUTCOME_FIELDS = {field.name for field in fields(TrialOutcome)}


def _tune_trainable(
    config: dict[str, Any],
    specs: dict[str, TrialSpec],
    job: TrialJob,
    trial_function: TrialFunction,
) -> None:
    """Runs on a Ray worker: train one candidate, reporting every epoch and the outcome."""
    spec = specs[config["trial_id"]]
    try:
        outcome = trial_function(spec, job, tune.report)
    except Exception as error:
        # Keep the one-line reason and a bug's traceback where the driver can read them, then
        # let Ray retry.
        tune.report({"error": describe_error(error), "traceback": describe_traceback(error)})
        raise
    tune.report({**asdict(outcome), FINAL: True})


def _outcome_from(result: dict[str, Any] | None) -> TrialOutcome | None:
    """The outcome a trial returned, or None for one that ended without returning one."""
    result = result or {}
    if not result.get(FINAL):
        return None
    values = {name: result[name] for name in OUTCOME_FIELDS if name in result}
    values["epoch_top1"] = tuple(values.get("epoch_top1", ()))
    values["bad_videos"] = tuple(values.get("bad_videos", ()))
    return TrialOutcome(**values)


class _RecordEachTrial(tune.Callback):
    """Hands every finished trial to the search the moment Tune sees it end."""

    def __init__(self, specs: dict[str, TrialSpec], on_result: OnResult) -> None:
        self.specs = specs
        self.on_result = on_result

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        # A trial that ended without returning (stopped, interrupted) has no result: the
        # driver decides what that means.
        outcome = _outcome_from(trial.last_result)
        if outcome is not None:
            self.on_result(self.specs[trial.config["trial_id"]], outcome)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        spec = self.specs[trial.config["trial_id"]]
        last = trial.last_result or {}
        if last.get("error"):
            kind = "error" if last.get("traceback") else "data"
            self.on_result(spec, failed(last["error"], last.get("traceback", ""), kind))
            return
        error = trial.get_pickled_error()
        if error is None or isinstance(error, RayActorError | WorkerCrashedError):
            reason = describe_error(error) if error else "the trial's worker ended"
            self.on_result(spec, failed(reason, failure="lost"))
            return
        self.on_result(spec, failed(error.__cause__ or error))


class _StopOnSignal(tune.Stopper):
    """Stops every trial once SIGINT or SIGTERM asked the search to stop."""

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return stop_requested()

    def stop_all(self) -> bool:
        return stop_requested()


class RayDispatcher:
    """Runs each batch of candidates as one Ray Tune experiment, inside a `ray_session`."""

    def __init__(self, storage: Path, session: RaySession, trial_function: TrialFunction) -> None:
        self.storage = storage.resolve()
        self.session = session
        self.trial_function = trial_function

    def run(self, trials: Sequence[TrialSpec], job: TrialJob, on_result: OnResult) -> None:
        specs = {spec.trial_id: spec for spec in trials}
        resources = job.resources
        self.session.check_fits(resources.cpus, resources.gpus)
        trainable = tune.with_resources(
            tune.with_parameters(
                _tune_trainable, specs=specs, job=job, trial_function=self.trial_function
            ),
            {"cpu": resources.cpus, "gpu": resources.gpus},
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"trial_id": tune.grid_search(list(specs))},
            run_config=tune.RunConfig(
                name=f"{trials[0].trial_id}-{uuid.uuid4().hex[:8]}",
                storage_path=str(self.storage),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=resources.max_failures),
                callbacks=[_RecordEachTrial(specs, on_result)],
                stop=_StopOnSignal(),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )
        with deferred_interrupts():  # Ctrl-C stops the trials through the stopper below
            tuner.fit()
