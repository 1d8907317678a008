"""`reuse=[RUN_DIR, …]`: the trials earlier searches trained, taken instead of trained again.

A trial is a function of its specification and of the settings that train it (space, data,
trial schedule, trial seed, the CPUs it shares, inheritance and fidelity); the targets, the
selection rule and where the search runs do not enter it. A search to other targets, or with
another selection, can therefore take every trial it shares with an earlier search of the same
training settings (typically the whole forward path) and train only what is new, such as the
contractions (`contract_from` only changes which weights a contraction starts from, which is
part of its specification). A reused row keeps the source's outcome, with `reused_from` naming
the source's folder; where this search keeps weights, the source's are copied beside its own.
A finished source keeps only its path's weights: the other trials are taken without theirs,
and should a trial to train start from one of them, the restore trains it again first
(`expansion.search.restore`), as a resume does for a clone.

A trial trained from scratch depends on nothing but its architecture, its share of the schedule
and its trial seed (the run's seed plus a confirmation's offset), so it is also taken from a
run of another seed: a seed-0 search with `confirm_seeds=1` finds its confirmations among a
seed-1 search's candidates, and the seed-1 search among the seed-0 search's confirmations.
Trials that start from other weights (inherited, or a rung's own checkpoint) descend from their
run's seed and are taken only from a run of the same seed, by trial id.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from expansion.config_values import read_yaml_mapping
from expansion.errors import ConfigError
from expansion.results.atomic import write_atomically
from expansion.results.run_table import SETTINGS_YAML
from expansion.results.store import ResultsStore
from expansion.search.config import RunSettings, run_settings
from expansion.search.records import TrialOutcome, TrialRecord, TrialSpec
from expansion.training.trial_weights import WEIGHTS_DIR, weights_path


@dataclass(frozen=True)
class _Source:
    folder: Path
    record: TrialRecord


# What alone decides a from-scratch trial's training: trial seed, configuration, budget.
_Training = tuple[int, Any, float]


def _from_scratch(spec: TrialSpec, run_seed: int) -> _Training | None:
    """The training key of a trial that starts from no weights, else None."""
    if spec.inherit_from or spec.resume_from:
        return None
    return run_seed + spec.seed_offset, spec.config, spec.budget


class ReusableTrials:
    """The finished trials of other run folders (the first folder listed wins): those of this
    search's seed by trial id, the from-scratch ones of any seed by their training key."""

    def __init__(self, seed: int, by_id: dict[str, _Source], by_training: dict[_Training, _Source]):
        self.seed = seed
        self.by_id = by_id
        self.by_training = by_training

    @classmethod
    def open(cls, folders: Sequence[Path], settings: RunSettings) -> ReusableTrials:
        """The trials of `folders`, each checked to have been trained as `settings` train.

        Failures that a resume would train again (a crash, a lost worker, unreadable data) are
        left out: they are not the candidate's result.
        """
        by_id: dict[str, _Source] = {}
        by_training: dict[_Training, _Source] = {}
        for folder in folders:
            if folder == settings.run_dir:
                raise ConfigError(f"reuse={folder} is this search's own folder")
            source = _source_settings(folder)
            if (differs := _training_difference(source, settings)) is not None:
                raise ConfigError(
                    f"reuse={folder}: its trials were trained with another {differs}, so they "
                    "are not this search's"
                )
            for record in ResultsStore(folder, settings.job.space).records():
                if record.retried_on_resume:
                    continue
                source = _Source(folder, record)
                if record.seed == settings.job.seed:
                    by_id.setdefault(record.trial_id, source)
                if (training := _from_scratch(record.spec, record.seed)) is not None:
                    by_training.setdefault(training, source)
        return cls(settings.job.seed, by_id, by_training)

    def __len__(self) -> int:
        found = (*self.by_id.values(), *self.by_training.values())
        return len({(source.folder, source.record.trial_id) for source in found})

    def take(self, spec: TrialSpec, threads: int, weights_dir: Path | None) -> TrialOutcome | None:
        """The recorded outcome of `spec` trained with `threads`, or None to train it.

        With `weights_dir` (this search keeps weights), the source's weights of the trial, if it
        still has them, are copied there first.
        """
        training = _from_scratch(spec, self.seed)
        if training is not None:
            source = self.by_training.get(training)
        else:
            source = self.by_id.get(spec.trial_id)
            source = source if source is not None and source.record.spec == spec else None
        if source is None or source.record.outcome.threads != threads:
            return None
        weights = weights_path(source.folder / WEIGHTS_DIR, source.record.trial_id)
        if weights_dir is not None and weights.is_file():
            weights_dir.mkdir(parents=True, exist_ok=True)
            copy = weights_path(weights_dir, spec.trial_id)
            write_atomically(copy, lambda path: shutil.copyfile(weights, path))
        return replace(source.record.outcome, reused_from=str(source.folder))


def _source_settings(folder: Path) -> RunSettings:
    saved = folder / SETTINGS_YAML
    if not saved.is_file():
        raise ConfigError(f"reuse={folder}: no {SETTINGS_YAML} there (not a search's folder)")
    return run_settings(read_yaml_mapping(saved), folder)


def _training_difference(source: RunSettings, settings: RunSettings) -> str | None:
    """The first setting that trains a trial differently in `source` and `settings`, or None."""
    for name, ours, theirs in (
        ("space", settings.job.space.name, source.job.space.name),
        ("dataset", settings.data_name, source.data_name),
        ("data", settings.job.data, source.job.data),
        ("trial schedule", settings.job.schedule, source.job.schedule),
        ("trial resources", settings.job.resources, source.job.resources),
        ("machine_cpus", settings.machine_cpus, source.machine_cpus),
        ("inherit", settings.search.inherit, source.search.inherit),
        ("inherit_noise", settings.job.inherit_noise, source.job.inherit_noise),
        ("fidelity", settings.search.fidelity, source.search.fidelity),
        ("rungs", settings.search.rungs, source.search.rungs),
    ):
        if ours != theirs:
            return name
    return None
