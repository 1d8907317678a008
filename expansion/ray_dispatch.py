"""Candidates as Ray Tune trials: the only module that imports ray.

Each step's candidates are one `tune.Tuner` run. Trials get `trial.cpus` CPUs and `trial.gpus`
GPUs (fractions share a GPU); Ray retries a trial that raised `trial.max_failures` times. A local
Ray instance is started unless `address` names a cluster (`"auto"` or `host:port`), which is
joined unchanged. On a local CPU-only instance, a step of fewer candidates than the machine runs
at once gives each trial a share of the idle CPUs as torch threads (`cpus_per_trial`). Ray's
own console output is kept quiet; its files go under the run directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from expansion.dispatch import OnResult, TrialFunction, cpus_per_trial, describe_error, failed
from expansion.records import TrialOutcome, TrialSpec
from expansion.training.settings import TrialJob
from expansion.training.trial import run_trial

# Set before ray is imported: the legacy (quiet with verbose=0) console reporter, no auth token
# file in the home folder.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

import ray
from ray import tune

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
        # Keep the one-line reason where the driver can read it, then let Ray retry.
        tune.report({"error": describe_error(error)})
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
        reason = (trial.last_result or {}).get("error")
        if not reason:
            error = trial.get_pickled_error()
            reason = describe_error(error.__cause__ or error) if error else "the trial crashed"
        self.on_result(spec, failed(reason))


class RayDispatcher:
    """Runs each batch of candidates as one Ray Tune experiment."""

    def __init__(
        self,
        job: TrialJob,
        storage: Path,
        address: str | None = None,
        trial_function: TrialFunction = run_trial,
    ) -> None:
        self.job = job
        self.storage = storage.resolve()
        self.trial_function = trial_function
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            try:
                ray.init(
                    address=address,
                    log_to_driver=False,
                    logging_level="ERROR",
                    include_dashboard=False,
                    configure_logging=True,
                )
            except ConnectionError as error:
                reason = str(error).splitlines()[0]
                raise ValueError(
                    f"ray.address={address}: cannot join a cluster ({reason})"
                ) from None
        # The machine's CPUs (as Ray counts them) are this search's only on a Ray instance it
        # started itself.
        self.local_cpus: int | None = None
        if self.started_ray and address is None:
            self.local_cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run(self, trials: Sequence[TrialSpec], on_result: OnResult, step_size: int) -> None:
        specs = {spec.trial_id: spec for spec in trials}
        settings = self.job.settings
        cpus = self.threads(step_size)
        job = replace(self.job, settings=replace(settings, cpus=cpus))
        trainable = tune.with_resources(
            tune.with_parameters(
                _tune_trainable, specs=specs, job=job, trial_function=self.trial_function
            ),
            {"cpu": cpus, "gpu": settings.gpus},
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"trial_id": tune.grid_search(list(specs))},
            run_config=tune.RunConfig(
                name=f"{trials[0].trial_id}-{uuid.uuid4().hex[:8]}",
                storage_path=str(self.storage),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=settings.max_failures),
                callbacks=[_RecordEachTrial(specs, on_result)],
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )
        tuner.fit()

    def threads(self, step_size: int) -> int:
        return cpus_per_trial(self.job.settings, step_size, self.local_cpus)

    def close(self) -> None:
        if self.started_ray:
            ray.shutdown()
