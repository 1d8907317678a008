"""Compare searches run with different trial seeds: the axis each kept per step, its top-1, the
runner-up, the lead, and whether the lead is beyond the seed-to-seed noise of these runs.

python -m expansion.compare runs/seed0 runs/seed1 [--out comparison.md]
python -m expansion.compare runs/cheaper runs/other --baseline runs/from_scratch

With `--baseline`, each run is also held against that search (e.g. the paper's from-scratch
procedure against inheriting or halving ones): where its kept axes part from the baseline's,
how its final model differs, and its trials' CPU time as a multiple of the baseline's.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from expansion.cli import OneLineParser, user_errors_as_one_line
from expansion.errors import UserError
from expansion.results.atomic import write_atomically
from expansion.results.evidence import SeedNoise, noise_of_mean, seed_noise, step_leads
from expansion.results.run_table import RunTable, load_run
from expansion.search.console import format_seconds

PROG = "python -m expansion.compare"


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Per step of two or more finished searches: the kept axis and top-1, the "
        "runner-up and the lead, against the top-1 noise between their trial seeds.",
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="RUN_DIR",
        help="also hold each run against this search: kept axes, final model, CPU time",
    )
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    return parser


def _points(share: float) -> str:
    return "-" if math.isnan(share) else f"{100 * share:.1f}"


def _lead(lead: float, seeds: int, noise: SeedNoise) -> str:
    """The lead in points, the seeds behind it where more than one, and " ✓" beyond the noise
    (of a mean of that many trials), " ✗" within it; no mark where either is unknown."""
    text = _points(lead) + (f" ({seeds} seeds)" if seeds > 1 else "")
    if math.isnan(lead) or math.isnan(noise.threshold):
        return text
    return text + (" ✓" if lead > noise_of_mean(noise.threshold, seeds) else " ✗")


def comparison_table(runs: Sequence[RunTable], noise: SeedNoise) -> pd.DataFrame:
    """One row per kept step: for each run its axis, top-1, runner-up, lead and trial minutes."""
    columns: dict[str, list[str]] = {}
    paths = [step_leads(run.path, run.trials) for run in runs]
    steps = sorted({int(step) for path in paths for step in path["step"]})
    columns["step"] = [str(step) for step in steps]
    for run, path in zip(runs, paths, strict=True):
        name = run.name
        rows = {int(row.step): row for row in path.itertuples(index=False)}
        seconds = run.trials.groupby("step")["wall_s"].sum()
        cells: dict[str, list[str]] = {"kept": [], "top-1": [], "runner-up": [], "lead": []}
        cells["trial min"] = []
        for step in steps:
            row = rows.get(step)
            if row is None:
                for values in cells.values():
                    values.append("")
                continue
            cells["kept"].append(f"{row.axis} ({row.gflops:.3g})")
            cells["top-1"].append(_points(row.top1))
            cells["runner-up"].append(
                f"{row.runner_up} {_points(row.runner_up_top1)}" if row.runner_up else "-"
            )
            cells["lead"].append(_lead(row.lead, row.lead_seeds, noise))
            cells["trial min"].append(f"{seconds.get(step, math.nan) / 60:.1f}")
        for key, values in cells.items():
            columns[f"{name} {key}"] = values
    if len(runs) > 1:
        kept = [path.set_index("step")["axis"] for path in paths]
        columns["same axis"] = [
            "yes" if len({axes.get(step) for axes in kept}) == 1 else "no" for step in steps
        ]
    return pd.DataFrame(columns)


def _kept_axes(run: RunTable) -> dict[int, str]:
    """The axis kept at each forward step past the seed."""
    forward = run.path[(run.path["phase"] == "forward") & (run.path["step"] > 0)]
    return {int(row.step): str(row.axis) for row in forward.itertuples(index=False)}


def _core_seconds(run: RunTable) -> float:
    """CPU seconds of every trial the search's choices rest on, reused ones included (what the
    search costs trained on its own); NaN where a trial recorded none."""
    return float(run.trials["cpu_s"].sum(min_count=len(run.trials)))


def _final_differences(run: RunTable, baseline: RunTable) -> str:
    """The final model's fields that differ from the baseline's (theirs in brackets)."""
    fields = list(run.space.to_dict(run.space.seed))
    ours, theirs = run.path.iloc[-1], baseline.path.iloc[-1]
    changed = [
        f"{name} {ours[name]:g} ({theirs[name]:g})" for name in fields if ours[name] != theirs[name]
    ]
    return ", ".join(changed) or "the same"


def baseline_table(runs: Sequence[RunTable], baseline: RunTable) -> pd.DataFrame:
    """One row per run: its kept axes, the steps where they part from the baseline's, its final
    model against the baseline's, final top-1, and trial CPU minutes as a multiple of the
    baseline's."""
    base_axes, base_seconds = _kept_axes(baseline), _core_seconds(baseline)
    rows = []
    for run in [baseline, *runs]:
        axes, seconds = _kept_axes(run), _core_seconds(run)
        parted = [
            step for step in sorted(axes | base_axes) if axes.get(step) != base_axes.get(step)
        ]
        final = run.path.iloc[-1]
        rows.append(
            {
                "run": run.name,
                "kept axes": ", ".join(axes[step] for step in sorted(axes)),
                "parts at steps": ", ".join(map(str, parted)) or "-",
                "final": f"{final['gflops']:.3g} GFLOPs, "
                + ("baseline" if run is baseline else _final_differences(run, baseline)),
                "top-1": _points(float(final["top1"])),
                "trial CPU min": f"{seconds / 60:.1f}",
                "× baseline": f"{seconds / base_seconds:.2f}",
            }
        )
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    """A Markdown table (pandas' own needs the tabulate package)."""
    rows = [list(table.columns), ["---"] * len(table.columns), *table.astype(str).values.tolist()]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def report(runs: Sequence[RunTable], baseline: RunTable | None = None) -> str:
    """The comparison as Markdown: the noise, the per-step table, each run's trial time and,
    given a baseline, each run held against it."""
    unfinished = [run.name for run in [*runs, *([baseline] if baseline else [])] if run.path.empty]
    if unfinished:
        raise UserError(f"{', '.join(unfinished)}: no path.csv (the search has not finished)")
    noise = seed_noise(runs)
    if noise.pairs:
        lines = [
            f"Seed noise: {noise.pairs} candidates trained with two seeds; |Δ top-1| median "
            f"{_points(noise.median)}, 95th percentile {_points(noise.threshold)}, largest "
            f"{_points(noise.largest)} points. ✓: a lead beyond the 95th percentile (a lead "
            "between means of n seeds' trials, against it divided by √n).",
        ]
    else:
        lines = ["Seed noise: no candidate was trained with two seeds (give runs of other seeds)."]
    lines += ["", _markdown(comparison_table(runs, noise)), ""]
    for run in runs:
        # what the run trained itself: trials it took from another run (reuse=) cost it nothing
        trained = run.trials[run.trials["reused_from"].fillna("") == ""]
        trials = trained[trained["status"] == "ok"]
        line = (
            f"{run.name}: {len(trained)} trials, {format_seconds(float(trials['wall_s'].sum()))}"
            " of trial time in all"
        )
        if trials["cpu_s"].notna().all():  # runs recorded before cpu_s existed lack it
            line += f", {format_seconds(float(trials['cpu_s'].sum()))} of CPU time"
        if reused := len(run.trials) - len(trained):
            line += f"; {reused} more trials reused from other runs"
        lines.append(line)
    if baseline is not None:
        lines += [
            "",
            f"Against {baseline.name} (CPU minutes: every trial a choice rests on, reused ones "
            "included):",
            "",
            _markdown(baseline_table(runs, baseline)),
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with user_errors_as_one_line(PROG):
        baseline = None if args.baseline is None else load_run(args.baseline)
        text = report([load_run(run_dir) for run_dir in args.run_dirs], baseline)
        print(text)
        if args.out is not None:
            write_atomically(args.out, lambda path: path.write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
