"""What a search prints: its plan, one line per finished trial under a progress bar, and the
summary at the end (computed from the trial records); a dry run prints the plan and what the
settings decide (`format_preview`)."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from tqdm import tqdm

from expansion.search.complexity import config_complexity
from expansion.search.coordinator import Finished, SearchSettings
from expansion.search.plan import Plan
from expansion.search.preview import Preview
from expansion.search.records import Member, TrialOutcome, TrialRecord, TrialSpec
from expansion.training.schedule import Schedule
from search_spaces import SearchSpace


def format_plan(plan: Plan, search: SearchSettings, device: str) -> str:
    """The plan's steps, trials and estimated time (where the probe ran), as a table."""
    (first, *_) = budgets = search.budgets
    goal = str(first) if first.hardware else ", ".join(str(budget) for budget in budgets)
    lines = [
        f"Search to {goal}{'' if first.hardware else ' GFLOPs'} along {', '.join(search.axes)}; "
        f"{plan.parallel} trial(s) at a time on {device}.",
        f"{'step':>6}{'trials':>8}{'GFLOPs':>10}{'est. time':>12}",
    ]
    if first.hardware:
        counted = (
            f"to about {plan.goal_gflops:.3g} GFLOPs (latency taken as growing with GFLOPs "
            "from the seed's)"
            if plan.goal_gflops < math.inf
            else f"up to max_steps={search.max_steps}"
        )
        lines.insert(
            1,
            "Forward steps go on until the kept model's measured figures pass the target; "
            f"the plan counts steps {counted}.",
        )
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
    if search.inherit:
        lines.append(
            "each candidate starts from its parent's weights and trains trial.inherited_epochs "
            "(inherit; inherit=false: every candidate from scratch, as the paper)"
        )
    if search.confirm_seeds:
        which = "each candidate" if search.confirm_top is None else f"the best {search.confirm_top}"
        lines.append(
            f"plus {search.confirm_seeds} more trial(s) of {which} within "
            f"{100 * search.confirm_margin:.3g} points of its step's best (confirm_seeds), "
            "not counted: how many depends on training"
        )
    if plan.calibrated_on:
        lines.append(
            f"times scaled by {plan.calibration:.2f}: the {plan.calibrated_on} trials trained "
            f"so far took {plan.calibration:.2f}× the probe's estimate for them"
        )
    if plan.borderline:
        targets = ", ".join(f"{target:.3g}" for target in plan.borderline)
        lines.append(
            f"the axes' candidates grow the model by different ratios: the path to {targets} "
            "GFLOPs may take a step more or fewer, as the kept axes decide"
        )
    reach = max(step.gflops for step in plan.steps)
    if reach < search.reach(plan.goal_gflops) < math.inf:
        lines.append(
            f"max_steps={search.max_steps} end at about {reach:.3g} GFLOPs, short of the "
            f"target: the search stops there (raise max_steps to go further)"
        )
    return "\n".join(lines)


def format_rungs(search: SearchSettings, schedule: Schedule) -> str | None:
    """With `fidelity=halving`, the epoch each rung ends after, from scratch and (with `inherit`)
    inheriting, since rungs end on whole epochs; and what makes a rung meaningless: a first rung
    that ends inside the warm-up, or a rung that ends where the one before it did."""
    if search.fidelity != "halving":
        return None
    trials = {"from scratch": schedule}
    if search.inherit:
        trials["inheriting"] = schedule.for_inheriting()
    parts, notes = [], []
    for name, trial in trials.items():
        ends = [trial.rung_epochs(share) for share in search.rungs]
        parts.append(f"{', '.join(map(str, ends))} of {trial.epochs} epochs {name}")
        if ends[0] <= trial.warmup_epochs:
            notes.append(
                f"the first rung {name} ends inside the {trial.warmup_epochs:g}-epoch warm-up: "
                "it ranks candidates that never trained at the full rate"
            )
        if len(set(ends)) < len(ends):
            notes.append(f"rungs {name} that end on the same epoch only evaluate again")
    return "; ".join([f"halving: rungs end after {'; '.join(parts)}", *notes])


def format_seconds(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """One line per finished trial, under a bar weighted by each trial's estimated cost."""

    def __init__(self, plan: Plan, search: SearchSettings, stream: TextIO = sys.stderr) -> None:
        self.plan = plan
        self.search = search
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
        took = "reused" if outcome.reused else format_seconds(outcome.wall_s)
        # a confirmation or an early rung repeats a candidate's line: say which it is
        repeat = f"  seed +{spec.seed_offset}" if spec.seed_offset else ""
        repeat += f"  rung of {spec.budget:.2g}" if spec.budget < 1 else ""
        self.bar.write(
            f"step {spec.step:>2} {spec.phase:<8} {spec.axis:<10} {spec.gflops:8.4f} GFLOPs  "
            f"top-1 {top1}  {took:>7}{latency:>11}{repeat}{status}",
            file=self.stream,
        )
        remaining = max(self.bar.total - self.bar.n, 0)
        self.bar.update(min(round(self.plan.spec_seconds(spec, self.search)), remaining))
        self.bar.set_description_str(f"search: {self.done} trials")

    def close(self) -> None:
        self.bar.close()


def format_summary(
    result: Finished,
    trained: Sequence[TrialRecord],
    seconds: float,
    capacity: float,
    bad_videos: Sequence[str] = (),
    measured: Mapping[str, float] | None = None,
) -> str:
    """The final model, and how much of this invocation's `seconds` its `trained` trials filled;
    with hardware targets, its `measured` figures against them (the driver's `_measured`).

    A trial fills its wall time × its threads (or GPU share); `capacity` is what the machine offers
    trials at once (two 1-thread trials side by side, or one with both threads, fill a 2-core
    machine), so cores left idle count as time outside training.
    """
    final = result.final
    reused = [record for record in trained if record.outcome.reused]
    trained = [record for record in trained if not record.outcome.reused]
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
    if reused:
        sources = sorted({record.outcome.reused_from for record in reused})
        lines.append(f"{len(reused)} trials reused from {', '.join(sources)}")
    measured = measured or {}
    if "latency_ms" in measured:
        lines.insert(
            1,
            f"latency {measured['latency_ms']:.4g} ms = {measured['latency_ms_share']:.1%} of "
            f"the {measured['target_latency_ms']:g} ms target (median of its timed passes, "
            f"{measured['latency_fastest_ms']:.4g}-{measured['latency_slowest_ms']:.4g} ms)",
        )
    if "memory_mb" in measured:
        lines.insert(
            1,
            f"peak training memory {measured['memory_mb']:.4g} MiB = "
            f"{measured['memory_mb_share']:.1%} of the {measured['target_memory_mb']:g} MiB target",
        )
    if len(result.members) > 1:
        lines.append("members, one per target:")
        lines += [f"  {_member_line(member)}" for member in result.members]
    if bad_videos:
        lines.append(f"{len(bad_videos)} unreadable videos, replaced: {', '.join(bad_videos)}")
    return "\n".join(lines)


def _member_line(member: Member) -> str:
    spec, top1 = member.record.spec, member.record.outcome.top1
    return (
        f"target {member.target_gflops:.4g}: {spec.trial_id} ({spec.axis}), "
        f"{spec.gflops:.4g} GFLOPs, top-1 {100 * top1:.1f}% — {member.note}"
    )


def format_preview(space: SearchSpace, search: SearchSettings, preview: Preview) -> str:
    """A dry run's trials and members: every trial the settings decide, then each member's
    configuration with the preset of the space nearest to it in GFLOPs beside it."""
    lines = ["Trials the settings decide (a dry run trains none of them):"]
    lines.append(f"{'trial':<28}{'step':>5}  {'axis':<12}{'GFLOPs':>10}{'params M':>10}")
    for spec in preview.trials:
        lines.append(
            f"{spec.trial_id:<28}{spec.step:>5}  {spec.axis:<12}{spec.gflops:>10.4g}"
            f"{spec.params_m:>10.4g}"
        )
    if not preview.complete:
        lines.append(
            "then each step keeps the candidate that trains best: what follows and the members "
            "of the later targets depend on training"
        )
    if preview.members:
        lines += ["", *_member_table(space, search.num_classes, preview.members)]
    return "\n".join(lines)


def _member_table(space: SearchSpace, num_classes: int, members: Sequence[Member]) -> list[str]:
    """Each member's row (target, trial, GFLOPs, params, configuration) over its nearest
    preset's, the relative GFLOPs difference, and the member's note."""
    presets = {
        name: (config, config_complexity(space, config, num_classes))
        for name, config in space.presets.items()
    }
    names = list(space.to_dict(space.seed))
    widths = [max(len(name), 6) + 2 for name in names]

    def row(first: str, second: str, gflops: float, params: float, config: object) -> str:
        values = space.to_dict(config)
        cells = "".join(f"{values[name]:>{w}g}" for name, w in zip(names, widths, strict=True))
        return f"{first:<11}{second:<28}{gflops:>10.4g}{params:>10.4g}{cells}"

    header = "".join(f"{name:>{w}}" for name, w in zip(names, widths, strict=True))
    lines = [
        "Members, each over the preset nearest in GFLOPs:",
        f"{'target':<11}{'model':<28}{'GFLOPs':>10}{'params M':>10}{header}",
    ]
    for member in members:
        spec = member.record.spec
        name = min(presets, key=lambda n: abs(math.log(presets[n][1].gflops / spec.gflops)))
        config, complexity = presets[name]
        target = f"{member.target_gflops:.4g}"
        preset = f"preset {name} ({spec.gflops / complexity.gflops - 1:+.1%})"
        lines += [
            row(target, spec.trial_id, spec.gflops, spec.params_m, spec.config),
            row("", preset, complexity.gflops, complexity.params_m, config),
            f"{'':<11}{member.note}",
        ]
    return lines
