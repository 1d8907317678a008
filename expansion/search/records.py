"""What a search trains and what it learns: trial specifications, outcomes and recorded rows.

`TrialSpec` is what the coordinator asks for, `TrialOutcome` what training reports back, and
`TrialRecord` the two together: one row of `trials.parquet`, written the moment a trial ends.
The coordinator's whole state can be rebuilt from a list of records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from search_spaces.base import SearchSpace

Phase = Literal["forward", "contract"]
Status = Literal["ok", "failed", "stopped"]
# Why a trial failed. `diverged` (its loss became NaN) is the trial's own, deterministic result:
# the same seed gives it again. The others come from outside the candidate (a crash or a bug,
# data that could not be read, a worker that was lost) and are trained again on resume.
Failure = Literal["", "diverged", "error", "data", "lost"]
RETRIED_ON_RESUME: frozenset[str] = frozenset({"error", "data", "lost"})
SEED_AXIS = "seed"


@dataclass(frozen=True)
class TrialSpec:
    """One candidate to train: `config` of the run's space, reached from `parent` along `axis`;
    with `inherit_from`, it starts from that trial's weights (else from scratch). It trains the
    `budget` share of the schedule's epochs (successive halving's rungs train less), going on
    from the checkpoint of `resume_from`, its own previous rung, when there is one. A
    confirmation trains it again with the trial seed + `seed_offset`."""

    trial_id: str
    step: int
    phase: Phase
    axis: str
    parent: str
    config: Any
    gflops: float
    params_m: float
    inherit_from: str = ""
    budget: float = 1.0
    resume_from: str = ""
    seed_offset: int = 0


def confirmation_id(trial_id: str, seed_offset: int) -> str:
    """The id of a confirmation: trial `trial_id` trained again with trial seed + `seed_offset`."""
    return f"{trial_id}-seed{seed_offset}"


def confirmed_id(trial_id: str, seed_offset: int) -> str:
    """The candidate a trial of `seed_offset` confirms (itself where the offset is 0)."""
    return trial_id.removesuffix(f"-seed{seed_offset}") if seed_offset else trial_id


@dataclass(frozen=True)
class TrialOutcome:
    """What training a candidate produced. Accuracies are fractions in [0, 1]."""

    status: Status
    top1: float = float("nan")
    top5: float = float("nan")
    loss: float = float("nan")
    epochs: int = 0
    wall_s: float = 0.0
    clips_per_s: float = float("nan")
    peak_memory_mb: float = float("nan")
    device: str = ""
    error: str = ""
    epoch_top1: tuple[float, ...] = field(default=())
    threads: int = 0  # CPU threads the trial trained with
    gpus: float = 0.0  # its share of a GPU (0: the CPU)
    traceback: str = ""  # of an exception that was not a user's error (a bug, a crash)
    failure: Failure = ""
    bad_videos: tuple[str, ...] = field(default=())  # videos the trial could not read
    latency_ms: float = float("nan")  # inference of one clip on the trial's device and threads
    throughput_clips_s: float = float("nan")  # inference at the trial's batch
    # 95 % bootstrap interval of top1 over the validation videos, and which of them it got right
    # ("1"/"0" per video, in the dataset's order: paired comparisons of two trials need it)
    top1_low: float = float("nan")
    top1_high: float = float("nan")
    correct: str = ""
    # CPU seconds of the trial's process, all its threads: the core-seconds it cost, which
    # other work on the machine does not inflate the way it does `wall_s`
    cpu_s: float = float("nan")
    # the run folder this outcome was taken from (`reuse=`) rather than trained in; "": trained
    reused_from: str = ""

    @property
    def reused(self) -> bool:
        return bool(self.reused_from)


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial: its spec, its outcome, and the run and seed it belongs to."""

    run_id: str
    seed: int
    spec: TrialSpec
    outcome: TrialOutcome

    @property
    def trial_id(self) -> str:
        return self.spec.trial_id

    @property
    def retried_on_resume(self) -> bool:
        """Whether a resume trains this failed trial again (its failure came from outside)."""
        return self.outcome.status == "failed" and self.outcome.failure in RETRIED_ON_RESUME

    @property
    def usable(self) -> bool:
        """Whether the trial measured an accuracy the search may select on."""
        return self.outcome.status in ("ok", "stopped") and self.outcome.top1 == self.outcome.top1

    def to_row(self, space: SearchSpace) -> dict[str, Any]:
        """A flat table row: ids, the configuration's fields, complexity, metrics."""
        spec, outcome = self.spec, self.outcome
        outcome_values = asdict(outcome)
        outcome_values["epoch_top1"] = " ".join(f"{value:.6g}" for value in outcome.epoch_top1)
        outcome_values["bad_videos"] = "\n".join(outcome.bad_videos)
        return {
            "run_id": self.run_id,
            "trial_id": spec.trial_id,
            "step": spec.step,
            "phase": spec.phase,
            "axis": spec.axis,
            "parent": spec.parent,
            "inherited_from": spec.inherit_from,
            "budget": spec.budget,
            "resumed_from": spec.resume_from,
            "seed_offset": spec.seed_offset,
            **space.to_dict(spec.config),
            "gflops": spec.gflops,
            "params_m": spec.params_m,
            **outcome_values,
            "seed": self.seed,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any], space: SearchSpace) -> TrialRecord:
        """The record `to_row` flattened; config fields are read through the space."""
        config_fields = space.to_dict(space.seed).keys()
        config = space.from_dict({name: _plain(row[name]) for name in config_fields})
        spec = TrialSpec(
            trial_id=str(row["trial_id"]),
            step=int(row["step"]),
            phase=row["phase"],
            axis=str(row["axis"]),
            parent=_text(row["parent"]),
            config=config,
            gflops=float(row["gflops"]),
            params_m=float(row["params_m"]),
            inherit_from=_text(row.get("inherited_from", "")),
            budget=float(row.get("budget", 1.0)),
            resume_from=_text(row.get("resumed_from", "")),
            seed_offset=int(row.get("seed_offset", 0)),
        )
        values = {f.name: _plain(row[f.name]) for f in fields(TrialOutcome) if f.name in row}
        values["error"] = _text(values.get("error", ""))
        values["device"] = _text(values.get("device", ""))
        values["traceback"] = _text(values.get("traceback", ""))
        values["epochs"] = int(values.get("epochs", 0))
        values["threads"] = int(values.get("threads", 0))
        history = _text(values.get("epoch_top1", ""))
        values["epoch_top1"] = tuple(float(value) for value in history.split())
        values["failure"] = _text(values.get("failure", ""))
        values["bad_videos"] = tuple(_text(values.get("bad_videos", "")).splitlines())
        values["correct"] = _text(values.get("correct", ""))
        values["reused_from"] = _text(values.get("reused_from", ""))
        return cls(str(row["run_id"]), int(row["seed"]), spec, TrialOutcome(**values))


@dataclass(frozen=True)
class Member:
    """The model a search derived for one of its targets: the kept model contracted to the
    target, or the kept model itself (a step met the target exactly, no contraction fitted, or
    the steps ran out below it), and `note`, which says which."""

    target_gflops: float
    record: TrialRecord
    note: str


def _plain(value: Any) -> Any:
    """numpy/pandas scalars as Python numbers, whole floats of integer fields kept as read."""
    return value.item() if hasattr(value, "item") else value


def _text(value: Any) -> str:
    """Empty strings come back from CSV/Parquet as NaN or None."""
    return "" if value is None or value != value else str(value)
