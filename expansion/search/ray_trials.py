"""Candidates as Ray Tune trials: the only module of the search that imports ray.

Each step's candidates are one `tune.Tuner` run. Trials get `trial.cpus` CPUs and `trial.gpus`
GPUs (fractions share a GPU); Ray retries a trial that raised `trial.max_failures` times. Ray is
started or joined by `expansion.training.ray_session`. On a local CPU-only instance, a step of
fewer candidates than the machine runs at once gives each trial a share of the idle CPUs as
torch threads (`cpus_per_trial`). Ray's own console output is kept quiet; its files go under the
run directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from expansion.search.dispatch import (
    OnResult,
    TrialFunction,
    cpus_per_trial,
    describe_error,
    describe_traceback,
    failed,
)
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training.ray_session import RaySession
from expansion.training.trial import TrialJob

from ray import tune  # isort: skip  (after ray_session has set Ray's switches)

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


def _outcome_from(result: dict[str, Any] | None) -> TrialOutcome:
    """The outcome a trial reported last; a trial stopped early keeps its last epoch's metrics."""
    result = result or {}
    if not result.get(FINAL) and "top1" not in result:
        return failed("the trial ended without reporting a result")
    values = {name: result[name] for name in OUTCOME_FIELDS if name in result}
    values["epoch_top1"] = tuple(values.get("epoch_top1", ()))
    if not result.get(FINAL):
        values["status"] = "stopped"
    return TrialOutcome(**values)


class _RecordEachTrial(tune.Callback):
    """Hands every finished trial to the search the moment Tune sees it end."""

    def __init__(self, specs: dict[str, TrialSpec], on_result: OnResult) -> None:
        self.specs = specs
        self.on_result = on_result

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        spec = self.specs[trial.config["trial_id"]]
        self.on_result(spec, _outcome_from(trial.last_result))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        spec = self.specs[trial.config["trial_id"]]
        last = trial.last_result or {}
        if last.get("error"):
            self.on_result(spec, failed(last["error"], last.get("traceback", "")))
            return
        error = trial.get_pickled_error()
        self.on_result(
            spec, failed(error.__cause__ or error) if error else failed("the trial crashed")
        )


class RayDispatcher:
    """Runs each batch of candidates as one Ray Tune experiment, inside a `ray_session`."""

    def __init__(
        self, job: TrialJob, storage: Path, session: RaySession, trial_function: TrialFunction
    ) -> None:
        self.job = job
        self.storage = storage.resolve()
        self.trial_function = trial_function
        # The machine's CPUs are this search's only on a Ray instance it started itself.
        self.local_cpus = session.local_cpus

    def run(self, trials: Sequence[TrialSpec], on_result: OnResult, step_size: int) -> None:
        specs = {spec.trial_id: spec for spec in trials}
        resources = self.job.resources
        cpus = cpus_per_trial(resources, step_size, self.local_cpus)
        job = replace(self.job, resources=replace(resources, cpus=cpus))
        trainable = tune.with_resources(
            tune.with_parameters(
                _tune_trainable, specs=specs, job=job, trial_function=self.trial_function
            ),
            {"cpu": cpus, "gpu": resources.gpus},
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
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )
        tuner.fit()
