"""What a search prints: its plan, one line per finished trial under a progress bar, and the
summary at the end (computed from the trial records)."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TextIO

from tqdm import tqdm

from expansion.search.coordinator import Finished, SearchSettings
from expansion.search.plan import Plan
from expansion.search.records import TrialOutcome, TrialRecord, TrialSpec


def format_plan(plan: Plan, search: SearchSettings, device: str) -> str:
    """The plan's steps, trials and estimated time (where the probe ran), as a table."""
    targets = ", ".join(f"{target:g}" for target in search.target_gflops)
    lines = [
        f"Search to {targets} GFLOPs along {', '.join(search.axes)}; "
        f"{plan.parallel} trial(s) at a time on {device}.",
        f"{'step':>6}{'trials':>8}{'GFLOPs':>10}{'est. time':>12}",
    ]
    if search.replay:
        replayed = f"steps 1-{len(search.replay)} replay {', '.join(search.replay)}"
        others = "with every axis's candidate" if search.replay_others else "one trial each"
        lines.insert(1, f"{replayed} ({others}).")
    for step in plan.steps:
        lines.append(
            f"{step.label:>6}{step.trials:>8}{step.gflops:>10.3g}{format_seconds(step.seconds):>12}"
        )
    estimate = "" if math.isnan(plan.seconds) else f", {format_seconds(plan.seconds)} (estimate)"
    lines.append(f"about {plan.trials} trials{estimate}")
    reach = max(step.gflops for step in plan.steps)
    if reach < search.largest_target:
        lines.append(
            f"max_steps={search.max_steps} end at about {reach:.3g} GFLOPs, short of the "
            f"target: the search stops there (raise max_steps to go further)"
        )
    return "\n".join(lines)


def format_seconds(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """One line per finished trial, under a bar weighted by each trial's estimated cost."""

    def __init__(self, plan: Plan, stream: TextIO = sys.stderr) -> None:
        self.plan = plan
        self.stream = stream
        self.bar = tqdm(
            total=round(plan.seconds),
            unit="s",
            desc="search",
            file=stream,
            bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
            dynamic_ncols=True,
            disable=None,  # only on a terminal; logs and pipes get the trial lines alone
        )
        self.done = 0

    def trial_finished(self, spec: TrialSpec, outcome: TrialOutcome) -> None:
        self.done += 1
        top1 = f"{100 * outcome.top1:5.1f}%" if outcome.top1 == outcome.top1 else "    - "
        latency = (
            f"{outcome.latency_ms:7.1f} ms" if outcome.latency_ms == outcome.latency_ms else ""
        )
        status = "" if outcome.status == "ok" else f"  {outcome.status}: {outcome.error}"
        self.bar.write(
            f"step {spec.step:>2} {spec.phase:<8} {spec.axis:<10} {spec.gflops:8.4f} GFLOPs  "
            f"top-1 {top1}  {format_seconds(outcome.wall_s):>7}{latency:>11}{status}",
            file=self.stream,
        )
        remaining = max(self.bar.total - self.bar.n, 0)
        self.bar.update(min(round(self.plan.trial_seconds(spec.gflops)), remaining))
        self.bar.set_description_str(f"search: {self.done} trials")

    def close(self) -> None:
        self.bar.close()


def format_summary(
    result: Finished,
    trained: Sequence[TrialRecord],
    seconds: float,
    capacity: float,
    bad_videos: Sequence[str] = (),
) -> str:
    """The final model, and how much of this invocation's `seconds` its `trained` trials filled.

    A trial fills its wall time × its threads (or GPU share); `capacity` is what the machine offers
    trials at once (two 1-thread trials side by side, or one with both threads, fill a 2-core
    machine), so cores left idle count as time outside training.
    """
    final = result.final
    filled = sum(
        record.outcome.wall_s * (record.outcome.gpus or max(record.outcome.threads, 1))
        for record in trained
    )
    outside = max(seconds - filled / capacity, 0) / max(seconds, 1e-9)
    lines = [
        f"final: {final.trial_id} ({final.spec.axis}), {final.spec.gflops:.4g} GFLOPs, "
        f"top-1 {100 * final.outcome.top1:.1f}% — {result.note}",
        f"{len(trained)} trials in {format_seconds(seconds)}; "
        f"time outside training ≈ {outside:.0%}",
    ]
    if bad_videos:
        lines.append(f"{len(bad_videos)} unreadable videos, replaced: {', '.join(bad_videos)}")
    return "\n".join(lines)
