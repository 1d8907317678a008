"""Weights a resumed search needs and no longer has, trained again from its table.

The weights under a run folder's `weights/` are starting points, not results: a clone of a
recorded run has none (they are not committed) and a disk may lose them. A trial is a function
of its recorded specification and the threads it ran with, so a missing checkpoint that a trial
about to train starts from (its parent's, with `inherit`, or its previous rung's) is trained
again, after whatever it starts from in turn. The recorded row stays as it is; the retrained
top-1 is checked against it, because on another machine or environment the two may differ, and
the resumed search would then part from an uninterrupted one (the console says so;
`environment.yaml` lists what each sitting ran with).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from expansion.errors import SearchError
from expansion.search.dispatch import Dispatcher
from expansion.search.records import TrialOutcome, TrialRecord, TrialSpec
from expansion.training.trial import TrialJob
from expansion.training.trial_weights import weights_path


def missing_sources(
    specs: Sequence[TrialSpec], records: Sequence[TrialRecord], weights_dir: Path
) -> list[TrialRecord]:
    """The recorded trials whose weights `specs` start from, directly or through each other, and
    that `weights_dir` lacks; each after those it starts from."""
    by_id = {record.trial_id: record for record in records}
    order: dict[str, TrialRecord] = {}  # by trial id, each after those it starts from

    def need(trial_id: str, needed_by: str) -> None:
        if not trial_id or trial_id in order:
            return
        if weights_path(weights_dir, trial_id).exists():
            return
        record = by_id.get(trial_id)
        if record is None or record.outcome.status != "ok":
            path = weights_path(weights_dir, trial_id)
            raise SearchError(
                f"{needed_by} starts from {trial_id}'s weights: {path} is missing and "
                f"{trial_id} is not a finished trial of this run to train again"
            )
        need(record.spec.resume_from, trial_id)
        need(record.spec.inherit_from, trial_id)
        order[trial_id] = record

    for spec in specs:
        need(spec.resume_from, spec.trial_id)
        need(spec.inherit_from, spec.trial_id)
    return list(order.values())


def restore_weights(
    specs: Sequence[TrialSpec],
    records: Sequence[TrialRecord],
    job: TrialJob,
    dispatcher: Dispatcher,
    stream: TextIO,
) -> None:
    """Train again, one by one with their recorded threads, the trials whose missing weights
    `specs` start from (`missing_sources`); `job` keeps weights."""
    assert job.weights_dir is not None
    missing = missing_sources(specs, records, job.weights_dir)
    if missing:
        print(
            f"restore: {len(missing)} trial(s) whose weights the next trials start from are not "
            f"in {job.weights_dir}: training them again "
            f"({', '.join(record.trial_id for record in missing)})",
            file=stream,
        )
    for record in missing:
        started = time.perf_counter()
        outcome = _train_again(record, job, dispatcher)
        if outcome is None or outcome.status != "ok":
            reason = outcome.error if outcome else "no result"
            raise SearchError(f"restore: training {record.trial_id} again failed ({reason})")
        print(
            f"restore: {record.trial_id} trained again in {time.perf_counter() - started:.0f} s, "
            f"top-1 {outcome.top1:.1%}, {verdict(outcome, record.outcome)}",
            file=stream,
        )


def verdict(again: TrialOutcome, recorded: TrialOutcome) -> str:
    """Whether a retrained trial is the recorded one: the same top-1 and, where both recorded
    which validation videos they got right, the same videos (a top-1 can hide another model)."""
    otherwise = sum(a != b for a, b in zip(again.correct, recorded.correct, strict=False))
    if again.top1 == recorded.top1 and not otherwise:
        return "as recorded"
    if again.top1 == recorded.top1:
        difference = f"{otherwise} of {len(recorded.correct)} videos called otherwise"
    else:
        difference = f"recorded {recorded.top1:.1%}"
    return (
        f"{difference}: the trials after it may part from the uninterrupted search's (another "
        "machine or environment: see environment.yaml)"
    )


def _train_again(record: TrialRecord, job: TrialJob, dispatcher: Dispatcher) -> TrialOutcome | None:
    """`record`'s trial trained again with the threads it recorded (its weights saved)."""
    threads = record.outcome.threads or job.resources.cpus
    trial_job = replace(job, resources=replace(job.resources, cpus=threads))
    outcomes: list[TrialOutcome] = []
    dispatcher.run([record.spec], trial_job, lambda _, outcome: outcomes.append(outcome))
    return outcomes[0] if outcomes else None
