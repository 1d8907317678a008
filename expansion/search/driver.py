"""One expansion search, end to end: plan, train step by step, record, report.

`run_search(config, output_dir)` is what `python -m expansion.run` calls with the composed
configuration; tests call it directly. Every finished trial is in `trials.parquet` before the
next one is looked at, so `resume=RUN_DIR` continues a killed search where it stopped, and one
process at a time drives a run folder. SIGINT and SIGTERM stop the running trials and record
nothing for them. A resume trains again the trials that failed for reasons outside them
(a crash, unreadable data, a lost worker), and with `retry_failed=true` also those that diverged;
the kept weights that later trials start from, where they are missing, are trained again too
(`expansion.search.restore`).
With a hardware target the figures the coordinator asks for are measured here, between steps,
and recorded in `hardware.csv` (`HardwareTable`); the seed is measured, and a target it does
not fit under refused, before anything is written.
`dry_run(config)` prints the plan and what the settings decide, and trains nothing.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from expansion.config_values import as_bool
from expansion.data import ClipDataset, UnreadableVideoWarning
from expansion.data.build import collection
from expansion.data.config import as_recorded
from expansion.data.errors import too_many_unreadable
from expansion.errors import ConfigError, Interrupted, signals_as_interrupts, stop_requested
from expansion.results.environment import record_environment
from expansion.results.figures import draw_figures
from expansion.results.run_folder import RunLock, open_run_folder
from expansion.results.run_table import SETTINGS_YAML, load_run
from expansion.results.store import RETIRED_TRIALS_CSV, TRIALS_CSV, TRIALS_PARQUET, ResultsStore
from expansion.search.config import RunSettings, run_settings, this_machine_cpus
from expansion.search.console import (
    Progress,
    format_plan,
    format_preview,
    format_rungs,
    format_summary,
)
from expansion.search.coordinator import Finished, check_reachable, next_action, validate
from expansion.search.dispatch import (
    Dispatcher,
    TrialFunction,
    cpus_per_trial,
    failed,
    open_dispatcher,
)
from expansion.search.hardware import HardwareTable, require_memory_device
from expansion.search.plan import Plan, calibrated, estimate, projected, untimed
from expansion.search.preview import Preview, preview
from expansion.search.records import TrialOutcome, TrialRecord, TrialSpec
from expansion.search.restore import restore_weights
from expansion.search.reuse import ReusableTrials
from expansion.training import runtime
from expansion.training.schedule import Schedule
from expansion.training.trial import TrialJob, run_trial
from expansion.training.trial_weights import keep_only
from search_spaces.base import InputView

# On resume these may change (where trials run, whether diverged trials are tried again, which
# runs' trials are taken instead of trained); everything else is the search's identity.
RESUMABLE_OVERRIDES = ("dispatcher", "ray", "retry_failed", "reuse")


def run_search(
    config: Mapping[str, Any],
    output_dir: Path,
    trial_function: TrialFunction = run_trial,
    stream: TextIO = sys.stderr,
    overrides: Sequence[str] | None = None,
) -> Finished:
    """Start a search in `output_dir` (or `config["run_dir"]`), or resume `config["resume"]`.

    `overrides` are the top-level settings the command line gave (None: every key of `config`
    may override on resume); a resume names those it ignores.
    """
    folder = open_run_folder(
        config,
        folder_key="run_dir",
        settings_file=SETTINGS_YAML,
        what="search",
        resumable=RESUMABLE_OVERRIDES,
        holds=(TRIALS_PARQUET, TRIALS_CSV),
        default=output_dir,
        overrides=overrides,
    )
    config = folder.config
    if "machine_cpus" not in config or (not folder.resumed and config["machine_cpus"] is None):
        # Recorded at the start, so that a resume shares the CPUs out alike (runs recorded
        # before the setting existed: what their dispatcher did).
        local = config["dispatcher"]["name"] == "ray" or not folder.resumed
        joins = bool((config.get("ray") or {}).get("address"))
        config = {**config, "machine_cpus": this_machine_cpus() if local and not joins else None}
    config = {**config, "data": as_recorded(config["data"], folder.resumed)}
    folder = replace(folder, config=config)
    settings = run_settings(config, folder.path)
    validate(settings.job.space, settings.search)
    measures = _hardware_table(settings, settings.run_dir)  # a resume reads what it recorded
    check_reachable(settings.job.space, settings.search, measures)
    if (notice := _inherit_unavailable(config, settings)) is not None:
        print(notice, file=stream)
    reusable = ReusableTrials.open(settings.reuse, settings)
    if folder.ignored:
        print(
            f"resume: ignored {', '.join(folder.ignored)}: a search continues with the settings "
            f"in its {SETTINGS_YAML}; only {', '.join(RESUMABLE_OVERRIDES)} may change",
            file=stream,
        )
    storage = settings.run_dir / "ray"
    with (
        warnings.catch_warnings(),
        open_dispatcher(
            settings.dispatcher, trial_function, storage, settings.ray_address
        ) as dispatcher,
    ):
        # The search names each unreadable video once itself (`_BadVideos`).
        warnings.simplefilter("ignore", UnreadableVideoWarning)
        # Lists, folders and (data.validate) every video are read, and a cluster joined, before
        # anything is written.
        unreadable = settings.job.data.check_videos()
        with RunLock(folder.path):
            folder.save_settings()
            if (notice := record_environment(folder.path)) is not None:
                print(notice, file=stream)
            measures.record_in(settings.run_dir)
            return search(settings, dispatcher, stream, measures, reusable, unreadable)


def search(
    settings: RunSettings,
    dispatcher: Dispatcher,
    stream: TextIO,
    measures: HardwareTable,
    reusable: ReusableTrials,
    unreadable: Sequence[str] = (),
) -> Finished:
    """Train candidates until the coordinator is done; write the path, final model and plots.

    `measures` records the figures of hardware targets; candidates `reusable` holds are taken
    from other runs instead of trained; `unreadable` are the videos the pre-flight check could
    not read.
    """
    started = time.perf_counter()
    job = settings.job
    space, store = job.space, ResultsStore(settings.run_dir, job.space)
    if (notice := store.repair()) is not None:
        print(notice, file=stream)
    records = _records_to_keep(store, settings, stream)
    resumed_with = len(records)
    bad_videos = _BadVideos(settings, stream, records, unreadable)
    plan, val_videos = _estimate(settings, measures, records)
    print(format_plan(plan, settings.search, _device(settings)), file=stream)
    if (rungs := format_rungs(settings.search, _trial_schedule(settings))) is not None:
        print(rungs, file=stream)
    print(f"data: {settings.data_name}, {val_videos} validation videos", file=stream)
    if records:
        print(f"resuming {settings.run_dir}: {len(records)} trials already done", file=stream)
    if settings.reuse:
        print(f"reuse: {len(reusable)} trials of {len(settings.reuse)} run(s) to take", file=stream)
    progress = Progress(plan, settings.search, stream)

    def record(spec: TrialSpec, outcome: TrialOutcome) -> None:
        if stop_requested():  # a library's clean-up after SIGINT/SIGTERM: not a result
            return
        entry = TrialRecord(settings.run_dir.name, job.seed, spec, outcome)
        store.append(entry)
        records.append(entry)
        progress.trial_finished(spec, outcome)
        bad_videos.found(spec, outcome)

    try:
        with signals_as_interrupts():  # after Ray, which replaces SIGTERM's handler when it starts
            while not isinstance(
                action := next_action(space, settings.search, records, measures), Finished
            ):
                step_job = _step_job(settings, action.step_size)
                threads = step_job.resources.cpus
                to_train = []
                for spec in action.trials:
                    if (taken := reusable.take(spec, threads, job.weights_dir)) is None:
                        to_train.append(spec)
                    else:
                        record(spec, taken)
                if to_train:
                    if job.weights_dir is not None:  # a fresh clone of a run has no weights/
                        restore_weights(to_train, records, step_job, dispatcher, stream)
                    dispatcher.run(to_train, step_job, record)
                finished = {entry.trial_id for entry in records}
                for spec in action.trials:  # never propose the same trial forever
                    if spec.trial_id not in finished:
                        record(spec, failed("the dispatcher returned no result for this trial"))
    except Interrupted as stop:
        raise Interrupted(stop.signum, f"continue with resume={settings.run_dir}") from None
    finally:
        progress.close()
    store.write_path(list(action.path))
    if job.weights_dir is not None:  # the path's models and members stay: starting points
        kept = [*action.path, *(member.record for member in action.members)]
        keep_only(job.weights_dir, {record.trial_id for record in kept})
    targets = settings.search.target_gflops
    extra = {"target_gflops": targets[-1] if targets else None, "data": settings.data_name}
    hardware = _measured(settings, measures, action.final.spec.config)
    store.write_final(action.final, action.note, extra | hardware)
    if len(action.members) > 1:
        store.write_members(action.members, extra)
    draw_figures([load_run(settings.run_dir)], settings.run_dir)
    # CPUs (or GPU slots) the trials could use at once.
    capacity = plan.parallel * (job.resources.gpus or job.resources.cpus)
    elapsed = time.perf_counter() - started
    summary = format_summary(
        action, records[resumed_with:], elapsed, capacity, bad_videos.names, hardware
    )
    print(summary, file=stream)
    return action


def _hardware_table(settings: RunSettings, run_dir: Path | None) -> HardwareTable:
    """The figures of hardware targets: measured on the trials' device with a lone trial's
    threads, and the ones already recorded in `run_dir`, if given, read back."""
    job, search = settings.job, settings.search
    gpus = job.resources.gpus
    if search.target_memory_mb is not None:
        require_memory_device(runtime.pick_device(gpus))
    threads = cpus_per_trial(job.resources, 1, settings.machine_cpus)
    classes = search.num_classes
    return HardwareTable(job.space, classes, job.schedule, gpus, threads, run_dir)


def _measured(settings: RunSettings, measures: HardwareTable, config: Any) -> dict[str, float]:
    """The final model's measured figures beside their targets and its share of each (with the
    fastest and slowest of the latency's timed passes), for final.yaml and the summary; {}
    without hardware targets."""
    search, report = settings.search, {}
    for figure, target in (
        ("latency_ms", search.target_latency_ms),
        ("memory_mb", search.target_memory_mb),
    ):
        if target is not None:
            value = getattr(measures, figure)(config)
            report |= {f"target_{figure}": target, figure: value, f"{figure}_share": value / target}
    if "latency_ms" in report:
        row = measures.record(config)["latency_ms"]
        report |= {"latency_fastest_ms": row["fastest"], "latency_slowest_ms": row["slowest"]}
    return report


def dry_run(config: Mapping[str, Any], stream: TextIO = sys.stdout) -> Preview:
    """`dry_run=true`: print the plan, and the trials and members the settings decide (a
    replay's), without training, starting Ray or writing anything. The plan's times need the
    throughput probe, which trains a few batches of the seed and of a model near half the
    largest target: only with `dry_run_estimate=true` (minutes on a CPU for tens of GFLOPs)."""
    if config.get("resume"):
        raise ConfigError("dry_run=true previews a new search; it does not take resume=")
    settings = run_settings(config, Path(config.get("run_dir") or "."))
    space, search = settings.job.space, settings.search
    validate(space, search)
    measures = _hardware_table(settings, None)  # measures the seed, records nothing
    check_reachable(space, search, measures)
    if (notice := _inherit_unavailable(config, settings)) is not None:
        print(notice, file=stream)
    if as_bool(config.get("dry_run_estimate", False), "dry_run_estimate"):
        plan, _ = _estimate(settings, measures)
    else:
        sequential = settings.dispatcher == "inline"
        plan = untimed(
            space, projected(space, search, measures), settings.job.resources, sequential
        )
    print(format_plan(plan, search, _planned_device(settings)), file=stream)
    if (rungs := format_rungs(search, _trial_schedule(settings))) is not None:
        print(rungs, file=stream)
    shown = preview(space, search)
    print(format_preview(space, search, shown), file=stream)
    return shown


def _inherit_unavailable(config: Mapping[str, Any], settings: RunSettings) -> str | None:
    """What `inherit=true` comes to in a family that cannot transfer weights (`run_settings`
    turns it off there, so that such a family's searches still run): said, not silent."""
    if settings.search.inherit or not as_bool(config.get("inherit", False), "inherit"):
        return None
    return (
        f"inherit=true: the {settings.job.space.title} family cannot transfer weights between "
        "architectures; every candidate trains from scratch"
    )


def _estimate(
    settings: RunSettings, measures: HardwareTable, records: Sequence[TrialRecord] = ()
) -> tuple[Plan, int]:
    """The plan with its time estimate (calibrated on the trials `records` holds, on resume),
    and the number of validation videos.

    Building both datasets checks roots, list files and labels before any trial starts: the
    validation set here, the training set in the plan's probe, which loads clips from it.
    """
    job = settings.job
    space = job.space

    def train_data(view: InputView) -> ClipDataset:
        return job.data.dataset("train", view, "train", seed=job.seed)

    val_videos = len(job.data.dataset("val", space.input_view(space.seed), "val", seed=job.seed))
    sequential = settings.dispatcher == "inline"
    search = projected(space, settings.search, measures)
    plan = estimate(space, search, job.schedule, job.resources, train_data, val_videos, sequential)
    return calibrated(space, search, plan, records), val_videos


def _device(settings: RunSettings) -> str:
    """The device trials run on, named."""
    return runtime.device_name(runtime.pick_device(settings.job.resources.gpus))


def _planned_device(settings: RunSettings) -> str:
    """`_device`, except that a plan may be for GPU trials on a machine without one (a
    cluster's search previewed on a laptop)."""
    gpus = settings.job.resources.gpus
    if runtime.gpus_elsewhere(gpus):
        return f"{runtime.resolve_gpus(gpus):g} GPU per trial (none on this machine)"
    return _device(settings)


def _trial_schedule(settings: RunSettings) -> Schedule:
    """The schedule trials follow on their device (a cluster's GPUs, where the plan is for
    GPUs this machine lacks)."""
    gpus = settings.job.resources.gpus
    device = "cuda" if runtime.gpus_elsewhere(gpus) else runtime.pick_device(gpus).type
    return settings.job.schedule.for_device(device)


def _step_job(settings: RunSettings, step_size: int) -> TrialJob:
    """The job with the threads each trial of a step of `step_size` candidates gets."""
    resources = settings.job.resources
    cpus = cpus_per_trial(resources, step_size, settings.machine_cpus)
    return replace(settings.job, resources=replace(resources, cpus=cpus))


def _records_to_keep(
    store: ResultsStore, settings: RunSettings, stream: TextIO
) -> list[TrialRecord]:
    """The recorded trials, after setting aside failures that a resume trains again.

    The trials of later steps are set aside with them: they followed from a step that missed a
    candidate, and the retrained one may change what that step keeps.
    """
    records = store.records()
    again = [
        record
        for record in records
        if record.retried_on_resume or (settings.retry_failed and record.outcome.status == "failed")
    ]
    if not again:
        return records
    first_step = min(record.spec.step for record in again)
    later = [record for record in records if record.spec.step > first_step]
    store.retire([record.trial_id for record in (*again, *later)])
    print(
        f"training again {len(again)} trial(s) that failed before "
        f"({', '.join(record.trial_id for record in again)}) and the {len(later)} of later "
        f"steps; the earlier attempts are in {RETIRED_TRIALS_CSV}",
        file=stream,
    )
    return store.records()


class _BadVideos:
    """Unreadable videos over the whole run: each named once on the console, and the run
    stopped once more than `max_bad_share` of all its videos are unreadable."""

    def __init__(
        self,
        settings: RunSettings,
        stream: TextIO,
        records: Sequence[TrialRecord],
        unreadable: Sequence[str],
    ) -> None:
        self.data = settings.job.data
        self.total = sum(len(collection(self.data.source(split))) for split in ("train", "val"))
        self.stream = stream
        self.names = sorted({name for record in records for name in record.outcome.bad_videos})
        for name in unreadable:
            if name not in self.names:
                self._add(name, "the pre-flight check")
        self._check()

    def found(self, spec: TrialSpec, outcome: TrialOutcome) -> None:
        for name in outcome.bad_videos:
            if name not in self.names:
                self._add(name, spec.trial_id)
        self._check()

    def _add(self, name: str, where: str) -> None:
        self.names.append(name)
        print(
            f"unreadable video (replaced by another): {name} (found by {where})", file=self.stream
        )

    def _check(self) -> None:
        if len(self.names) > self.data.max_bad_share * self.total:
            raise too_many_unreadable(self.names, self.total, self.data.max_bad_share)
