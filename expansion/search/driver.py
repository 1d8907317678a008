"""One expansion search, end to end: plan, train step by step, record, report.

`run_search(config, output_dir)` is what `python -m expansion.run` calls with Hydra's composed
configuration; tests call it directly. Every finished trial is in `trials.parquet` before the
next one is looked at, so `resume=RUN_DIR` continues a killed search where it stopped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from expansion.data import ClipDataset
from expansion.results.plots import plot_frontier, plot_path
from expansion.results.run_folder import open_run_folder
from expansion.results.runs import SETTINGS_YAML, load_run
from expansion.results.store import TRIALS_CSV, TRIALS_PARQUET, ResultsStore
from expansion.search.config import RunSettings, run_settings
from expansion.search.console import Progress, format_plan, format_summary
from expansion.search.coordinator import Finished, next_action, validate
from expansion.search.dispatch import TrialFunction, failed, open_dispatcher
from expansion.search.plan import estimate
from expansion.search.records import TrialOutcome, TrialRecord, TrialSpec
from expansion.training import runtime
from expansion.training.trial import run_trial
from search_spaces.base import InputView

# On resume these may change (e.g. join a cluster); everything else is the search's identity.
RESUMABLE_OVERRIDES = ("dispatcher", "ray")


def run_search(
    config: Mapping[str, Any],
    output_dir: Path,
    trial_function: TrialFunction = run_trial,
    stream: TextIO = sys.stderr,
) -> Finished:
    """Start a search in `output_dir` (or `config["run_dir"]`), or resume `config["resume"]`."""
    folder = open_run_folder(
        config,
        folder_key="run_dir",
        settings_file=SETTINGS_YAML,
        what="search",
        resumable=RESUMABLE_OVERRIDES,
        holds=(TRIALS_PARQUET, TRIALS_CSV),
        default=output_dir,
    )
    settings = run_settings(folder.config, folder.path)
    validate(settings.job.space, settings.search)
    folder.save_settings()
    return search(settings, trial_function, stream)


def search(settings: RunSettings, trial_function: TrialFunction, stream: TextIO) -> Finished:
    """Train candidates until the coordinator is done; write the path, final model and plots."""
    started = time.perf_counter()
    job = settings.job
    space, store = job.space, ResultsStore(settings.run_dir, job.space)
    records = store.records()
    resumed_with = len(records)

    def train_data(view: InputView) -> ClipDataset:
        return job.data.dataset("train", view, "train", seed=job.seed)

    # Building both datasets checks roots, list files and labels before any trial starts: the
    # validation set here, the training set in the plan's probe, which loads clips from it.
    val_videos = len(job.data.dataset("val", space.input_view(space.seed), "val", seed=job.seed))
    sequential = settings.dispatcher == "inline"
    plan = estimate(
        space, settings.search, job.schedule, job.resources, train_data, val_videos, sequential
    )
    device = runtime.device_name(runtime.pick_device(job.resources.gpus))
    print(format_plan(plan, settings.search, device), file=stream)
    if records:
        print(f"resuming {settings.run_dir}: {len(records)} trials already done", file=stream)
    progress = Progress(plan, stream)

    def record(spec: TrialSpec, outcome: TrialOutcome) -> None:
        entry = TrialRecord(settings.run_dir.name, job.seed, spec, outcome)
        store.append(entry)
        records.append(entry)
        progress.trial_finished(spec, outcome)

    storage = settings.run_dir / "ray"
    try:
        with open_dispatcher(
            settings.dispatcher, job, trial_function, storage, settings.ray_address
        ) as dispatcher:
            while not isinstance(action := next_action(space, settings.search, records), Finished):
                dispatcher.run(action.trials, record, action.step_size)
                finished = {entry.trial_id for entry in records}
                for spec in action.trials:  # never propose the same trial forever
                    if spec.trial_id not in finished:
                        record(spec, failed("the dispatcher returned no result for this trial"))
    finally:
        progress.close()
    store.write_path(list(action.path))
    store.write_final(action.final, action.note, {"target_gflops": settings.search.target_gflops})
    run_table = load_run(settings.run_dir)
    plot_frontier([run_table], settings.run_dir / "frontier.png")
    plot_path([run_table], settings.run_dir / "path.png")
    # CPUs (or GPU slots) the trials could use at once.
    capacity = plan.parallel * (job.resources.gpus or job.resources.cpus)
    elapsed = time.perf_counter() - started
    print(format_summary(action, records[resumed_with:], elapsed, capacity), file=stream)
    return action
