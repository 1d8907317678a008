"""A trial function for searches whose tests need rows, not training."""

from __future__ import annotations

from typing import Any

from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training.trial import TrialJob
from expansion.training.trial_weights import weights_path


class ScoredTrials:
    """A trial function that trains nothing: top-1 grows with GFLOPs; it notes what it ran and
    leaves a weights file where the search keeps weights."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, spec: TrialSpec, job: TrialJob, report: Any = None) -> TrialOutcome:
        self.ran.append(spec.trial_id)
        if job.weights_dir is not None:
            job.weights_dir.mkdir(parents=True, exist_ok=True)
            weights_path(job.weights_dir, spec.trial_id).write_bytes(spec.trial_id.encode())
        top1 = min(0.3 + 5 * spec.gflops, 0.99)
        threads = job.resources.cpus
        return TrialOutcome("ok", top1=top1, wall_s=1.0, cpu_s=1.0, threads=threads, epochs=1)
