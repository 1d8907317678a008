"""One expansion search, end to end: plan, train step by step, record, report.

`run(config, output_dir)` is what `python -m expansion.run` calls with Hydra's composed
configuration; tests call it directly. Every finished trial is in `trials.parquet` before the
next one is looked at, so `resume=RUN_DIR` continues a killed search where it stopped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import yaml

from expansion.coordinator import Finished, next_action, validate
from expansion.data import ClipDataset, build_dataset
from expansion.dispatch import Dispatcher, InlineDispatcher, TrialFunction, failed
from expansion.plots import load_run, plot_frontier, plot_path
from expansion.progress import Progress, estimate, format_plan, format_seconds
from expansion.records import TrialOutcome, TrialRecord, TrialSpec
from expansion.results import ResultsStore, write_atomically
from expansion.settings import RunSettings, run_settings
from expansion.training import runtime
from expansion.training.trial import run_trial
from search_spaces import SearchSpace, get_space
from search_spaces.base import InputView

SETTINGS_FILE = "search.yaml"
# On resume these may change (e.g. join a cluster); everything else is the search's identity.
RESUMABLE_OVERRIDES = ("dispatcher", "ray")


def run(
    config: Mapping[str, Any],
    output_dir: Path,
    trial_function: TrialFunction = run_trial,
    stream: TextIO = sys.stderr,
) -> Finished:
    """Start a search in `output_dir` (or `config["run_dir"]`), or resume `config["resume"]`."""
    resume = config.get("resume")
    run_dir = Path(resume or config.get("run_dir") or output_dir).resolve()
    saved = run_dir / SETTINGS_FILE
    if resume:
        if not saved.is_file():
            raise ValueError(f"cannot resume {run_dir}: no {SETTINGS_FILE} (not a search run)")
        original = yaml.safe_load(saved.read_text())
        config = {**original, **{key: config[key] for key in RESUMABLE_OVERRIDES if key in config}}
    elif (run_dir / "trials.parquet").exists() or (run_dir / "trials.csv").exists():
        raise ValueError(f"{run_dir} already holds a search; continue it with resume={run_dir}")
    settings = run_settings(config, run_dir)
    space = get_space(settings.job.space)
    validate(space, settings.search)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        text = yaml.safe_dump(dict(config), sort_keys=False)
        write_atomically(saved, lambda path: path.write_text(text))
    return search(space, settings, trial_function, stream)


def _dispatcher(settings: RunSettings, trial_function: TrialFunction) -> Dispatcher:
    if settings.dispatcher == "inline":
        return InlineDispatcher(settings.job, trial_function)
    from expansion.ray_dispatch import RayDispatcher  # ray is imported only when asked for

    storage = settings.run_dir / "ray"
    return RayDispatcher(settings.job, storage, settings.ray_address, trial_function)


def search(
    space: SearchSpace, settings: RunSettings, trial_function: TrialFunction, stream: TextIO
) -> Finished:
    """Train candidates until the coordinator is done; write the path, final model and plots."""
    started = time.perf_counter()
    job, store = settings.job, ResultsStore(settings.run_dir, space)
    records = store.records()
    resumed_with = len(records)
    data = {"seed": job.seed, "fps": job.fps, "max_bad_share": job.max_bad_share}

    def train_data(view: InputView) -> ClipDataset:
        return build_dataset(job.train, view, "train", **data)

    # Building both datasets checks roots, list files and labels before any trial starts: the
    # validation set here, the training set in the plan's probe, which loads clips from it.
    val_videos = len(build_dataset(job.val, space.input_view(space.seed), "val", **data))
    sequential = settings.dispatcher == "inline"
    plan = estimate(space, settings.search, job.settings, train_data, val_videos, sequential)
    device = runtime.describe(runtime.pick_device(job.settings.gpus))
    print(format_plan(plan, settings.search, device), file=stream)
    if records:
        print(f"resuming {settings.run_dir}: {len(records)} trials already done", file=stream)
    progress = Progress(plan, stream)
    dispatcher = _dispatcher(settings, trial_function)
    threads = job.settings.cpus  # of the step being trained
    core_seconds = 0.0  # spent in this invocation's trials

    def record(spec: TrialSpec, outcome: TrialOutcome) -> None:
        nonlocal core_seconds
        entry = TrialRecord(settings.run_dir.name, job.seed, spec, outcome)
        store.append(entry)
        records.append(entry)
        core_seconds += outcome.wall_s * threads
        progress.trial_finished(spec, outcome)

    try:
        while not isinstance(action := next_action(space, settings.search, records), Finished):
            threads = dispatcher.threads(action.step_size)
            dispatcher.run(action.trials, record, action.step_size)
            finished = {entry.trial_id for entry in records}
            for spec in action.trials:  # never propose the same trial forever
                if spec.trial_id not in finished:
                    record(spec, failed("the dispatcher returned no result for this trial"))
    finally:
        dispatcher.close()
        progress.close()
    store.write_path(list(action.path))
    store.write_final(action.final, action.note, {"target_gflops": settings.search.target_gflops})
    run_table = load_run(settings.run_dir)
    plot_frontier([run_table], settings.run_dir / "frontier.png")
    plot_path([run_table], settings.run_dir / "path.png")
    capacity = plan.parallel * job.settings.cpus  # CPUs (or GPU slots) trials can use at once
    elapsed = time.perf_counter() - started
    _summarize(action, len(records) - resumed_with, elapsed, core_seconds / capacity, stream)
    return action


def _summarize(
    result: Finished, trained: int, seconds: float, training: float, stream: TextIO
) -> None:
    """The final model, and how much of this invocation's time its trials filled.

    `training` is trial time over the trials' whole capacity (two 1-thread trials side by side,
    or one with both threads, fill a 2-core machine), so cores left idle count as outside.
    """
    final = result.final
    print(
        f"final: {final.trial_id} ({final.spec.axis}), {final.spec.gflops:.4g} GFLOPs, "
        f"top-1 {100 * final.outcome.top1:.1f}% — {result.note}\n"
        f"{trained} trials in {format_seconds(seconds)}; "
        f"time outside training ≈ {max(seconds - training, 0) / max(seconds, 1e-9):.0%}",
        file=stream,
    )
