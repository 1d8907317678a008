"""Figures of a search: accuracy against complexity (`frontier.png`) or against the latency
measured on the trials' device (`frontier_latency.png`), and the kept path per step (`path.png`,
like the paper's Fig. 2). Several runs overlay, one colour each (on the latency figure, each
labelled with the device it was measured on).

A search to several targets marks each target's member (a diamond, labelled with its target) on
the frontier and on the path.

Figures are `matplotlib.figure.Figure` objects drawn by the Agg canvas, never pyplot, so no state
is shared between figures or with a caller's own plots.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from expansion.results.atomic import write_atomically
from expansion.results.evidence import noise_of_mean, primary_trials, seed_noise, step_leads
from expansion.results.run_table import RunTable
from expansion.search.records import SEED_AXIS

COLOURS = matplotlib.colormaps["tab10"].colors
NEUTRAL = "0.25"
DPI = 200


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats: `(cost, value)` with the highest value for its cost or less.

    Returned by increasing cost (and so increasing value); NaN points are ignored.
    """
    measured = [point for point in points if not (math.isnan(point[0]) or math.isnan(point[1]))]
    front: list[tuple[float, float]] = []
    for cost, value in sorted(measured, key=lambda point: (point[0], -point[1])):
        if not front or value > front[-1][1]:
            front.append((cost, value))
    return front


@dataclass(frozen=True)
class Cost:
    """What a frontier puts on its x axis: a column of the trials table, with its label."""

    column: str
    label: str
    unit: str


GFLOPS = Cost("gflops", "GFLOPs (multiply-adds of one clip, log scale)", "GFLOPs")
LATENCY = Cost(
    "latency_ms",
    "latency (ms for one clip on the trials' device, log scale; the search's own measurement "
    "where it made one)",
    "ms",
)


def has_latency(run: RunTable) -> bool:
    """Whether the run's trials measured their latency (runs before it was recorded did not)."""
    return "latency_ms" in run.trials and bool(run.trials["latency_ms"].notna().any())


def searched_latency(run: RunTable) -> RunTable:
    """`run` with the latency of each trial whose configuration the search measured itself
    (`hardware.csv`: between steps, every configuration alike) set to that measurement; the
    others keep the latency their trial measured beside the other trials of its step."""
    if run.hardware.empty:
        return run
    fields = list(run.space.to_dict(run.space.seed))
    measured = run.hardware[run.hardware["figure"] == "latency_ms"]
    measured = measured[[*fields, "value"]].drop_duplicates(fields)
    trials = run.trials.merge(measured, on=fields, how="left")
    latency = trials.pop("value").fillna(trials["latency_ms"])
    return replace(run, trials=trials.assign(latency_ms=latency))


def plot_frontier(runs: Sequence[RunTable], out: Path, cost: Cost = GFLOPS) -> None:
    """Top-1 against `cost` (log scale) of every trial, with each run's Pareto front and path.

    Failed trials have no accuracy: they are drawn as crosses along the bottom edge, at their
    cost, so a reader sees what was tried and lost.
    """
    figure = Figure(figsize=(8.5, 5.2), layout="constrained")
    axes = figure.add_subplot()
    axes.set_xscale("log")
    if cost == LATENCY:
        runs = [searched_latency(run) for run in runs]
    for rank, run in enumerate(runs):
        _draw_trials(axes, run, _colour(rank), cost.column)
        _draw_kept_path(axes, run, rank, cost.column)
        _draw_members(axes, run, rank, cost.column, "top1")
    _draw_targets(axes, runs, vertical=True, cost=cost)
    _log_axis(axes.xaxis)
    axes.set_xlabel(cost.label)
    axes.set_ylabel("top-1 accuracy (%)")
    axes.grid(True, which="major", alpha=0.3)
    axes.margins(x=0.06, y=0.08)
    style = [
        Line2D([], [], ls="", marker="o", color=NEUTRAL, alpha=0.45, label="trial"),
        Line2D([], [], ls="", marker="x", color=NEUTRAL, label="failed trial"),
        Line2D([], [], ls=":", color=NEUTRAL, label="Pareto front"),
        Line2D([], [], marker="o", mfc="white", color=NEUTRAL, label="kept (forward)"),
        Line2D([], [], marker="v", mfc="white", color=NEUTRAL, label="kept (contraction)"),
        Line2D([], [], ls="", marker="*", ms=12, mec="black", color=NEUTRAL, label="final"),
        *_member_style(runs),
    ]
    _legend(figure, runs, style, cost)
    _save(figure, out)


def draw_figures(runs: Sequence[RunTable], out: Path) -> list[Path]:
    """`frontier.png`, `path.png` and, where latency was measured, `frontier_latency.png` of
    `runs` into the folder `out`; the files written."""
    figures = [(out / "frontier.png", GFLOPS), (out / "path.png", None)]
    timed = [run for run in runs if has_latency(run)]
    if timed:
        figures.append((out / "frontier_latency.png", LATENCY))
    for path, cost in figures:
        if cost is None:
            plot_path(runs, path)
        else:
            plot_frontier(timed if cost == LATENCY else runs, path, cost)
    return [path for path, _ in figures]


def plot_path(runs: Sequence[RunTable], out: Path) -> None:
    """The kept model's GFLOPs (log scale) and top-1 at each step, labelled by the axis taken;
    under each kept top-1 the runner-up's (a dash) and the lead, marked ✓ / ✗ against the seed
    noise when runs of several seeds are drawn together."""
    figure = Figure(figsize=(8.5, 6.4), layout="constrained")
    cost_axes, accuracy_axes = figure.subplots(2, 1, sharex=True)
    cost_axes.set_yscale("log")
    noise = seed_noise(runs).threshold
    for rank, run in enumerate(runs):
        _draw_leads(accuracy_axes, run, rank, noise)
        rows = _path_rows(run)
        steps = [row["step"] for row in rows]
        for axes, values in (
            (cost_axes, [row["gflops"] for row in rows]),
            (accuracy_axes, [100 * row["top1"] for row in rows]),
        ):
            axes.plot(steps, values, color=_colour(rank), lw=1.5, zorder=2)
            for row, step, value in zip(rows, steps, values, strict=True):
                _kept_point(axes, run, row, (step, value), rank)
        _draw_members(cost_axes, run, rank, "step", "gflops")
        _draw_members(accuracy_axes, run, rank, "step", "top1", labelled=False)
    if all(run.path.empty for run in runs):
        cost_axes.text(
            0.5,
            0.5,
            "no kept path recorded yet",
            transform=cost_axes.transAxes,
            ha="center",
            va="center",
            color=NEUTRAL,
        )
    _draw_targets(cost_axes, runs, vertical=False)
    _log_axis(cost_axes.yaxis)
    cost_axes.set_ylabel("GFLOPs (log scale)")
    accuracy_axes.set_ylabel("top-1 accuracy (%)")
    accuracy_axes.set_xlabel("step")
    accuracy_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for axes in (cost_axes, accuracy_axes):
        axes.grid(True, which="major", alpha=0.3)
        axes.margins(x=0.1, y=0.14)
    style = [
        Line2D([], [], marker="o", mfc="white", color=NEUTRAL, label="forward expansion"),
        Line2D([], [], marker="v", mfc="white", color=NEUTRAL, label="contraction"),
        *_member_style(runs),
    ]
    _legend(figure, runs, style)
    _save(figure, out)


def _draw_leads(axes: Axes, run: RunTable, rank: int, noise: float) -> None:
    """Each kept step's runner-up top-1 (a dash) joined to the kept one, and the lead in points
    (the labels of several runs one under the other)."""
    if run.path.empty:
        return
    colour = _colour(rank)
    for row in step_leads(run.path, run.trials).itertuples(index=False):
        if not row.runner_up:
            continue
        # where leaders were confirmed with more seeds, the lead is between their means
        other = 100 * row.runner_up_top1
        kept = other + 100 * row.lead
        axes.plot([row.step, row.step], [other, kept], color=colour, lw=0.8, alpha=0.5)
        axes.plot([row.step], [other], marker="_", ms=10, mew=1.5, color=colour, alpha=0.7)
        beyond = row.lead > noise_of_mean(noise, row.lead_seeds)
        verdict = "" if math.isnan(noise) else (" ✓" if beyond else " ✗")
        axes.annotate(
            f"{100 * row.lead:+.1f}{verdict}",
            (row.step, min(kept, other)),
            xytext=(4, -10 - 9 * rank),
            textcoords="offset points",
            fontsize=7,
            color=colour,
        )


def _draw_trials(axes: Axes, run: RunTable, colour: Any, column: str) -> None:
    trials = primary_trials(run.trials)
    costs = trials[column].to_numpy(float)
    top1 = 100 * trials["top1"].to_numpy(float)
    failed = pd.isna(top1) & ~pd.isna(costs)
    measured = ~pd.isna(top1) & ~pd.isna(costs)
    axes.scatter(costs[measured], top1[measured], s=22, color=colour, alpha=0.45, lw=0)
    # Failed trials sit on the bottom edge: x in data units, y in axes units.
    axes.plot(
        costs[failed],
        [0.03] * int(failed.sum()),
        ls="",
        marker="x",
        ms=6,
        mew=1.5,
        color=colour,
        transform=axes.get_xaxis_transform(),
        clip_on=False,
    )
    front = pareto_front(zip(costs[measured], top1[measured], strict=True))
    if front:
        steps, values = zip(*front, strict=True)
        right = max(costs[measured])
        axes.step([*steps, right], [*values, values[-1]], where="post", ls=":", color=colour)


def _draw_kept_path(axes: Axes, run: RunTable, rank: int, column: str = "gflops") -> None:
    """The kept models joined by arrows in the order taken, each labelled; the final one a star."""
    rows = [row for row in _path_rows(run, column) if not pd.isna(row[column])]
    points = [(row[column], 100 * row["top1"]) for row in rows]
    for start, end in pairwise(points):
        axes.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "-|>",
                "color": _colour(rank),
                "lw": 1.4,
                "shrinkA": 4,
                "shrinkB": 4,
                "mutation_scale": 11,
            },
        )
    for row, point in zip(rows, points, strict=True):
        _kept_point(axes, run, row, point, rank)
    final = _final_cost(run, column)
    if run.final is not None and final is not None:
        axes.scatter(
            [final],
            [100 * run.final["top1"]],
            marker="*",
            s=260,
            color=_colour(rank),
            edgecolors="black",
            lw=0.8,
            zorder=5,
        )


def _kept_point(
    axes: Axes, run: RunTable, row: Mapping[str, Any], point: tuple[float, float], rank: int
) -> None:
    """A kept model: a hollow marker (a triangle for contraction) and its axis.

    Paths run to the upper right, so labels go above-left of their point; when runs overlay,
    every other run labels below-right instead, and later pairs of runs a line further out.
    """
    colour = _colour(rank)
    below, distance = rank % 2, 6 + 11 * (rank // 2)
    marker = "v" if row["phase"] == "contract" else "o"
    axes.plot(*point, ls="", marker=marker, ms=7, mfc="white", mec=colour, mew=1.6, zorder=4)
    axes.annotate(
        _point_label(run, row),
        point,
        xytext=(5, -distance) if below else (-5, distance),
        textcoords="offset points",
        ha="left" if below else "right",
        va="top" if below else "bottom",
        fontsize=8,
        color=colour if rank else NEUTRAL,
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
    )


def _draw_members(
    axes: Axes, run: RunTable, rank: int, x: str, y: str, labelled: bool = True
) -> None:
    """Each target's member as a diamond at (`x`, `y`) of its row (top-1 in %; a column the
    members table lacks comes from the trials table), labelled with its target and, if it is
    one, the preset it is."""
    if run.members.empty:
        return
    members = run.members
    if x not in members:
        members = members.merge(run.trials[["trial_id", x]], on="trial_id", how="left")
    for row in members.to_dict("records"):
        point = (row[x], 100 * row[y] if y == "top1" else row[y])
        if any(pd.isna(value) for value in point):
            continue
        axes.plot(*point, ls="", marker="D", ms=8, mfc=_colour(rank), mec="black", zorder=5)
        if labelled:
            preset = _preset(run, row)
            axes.annotate(
                f"{row['target_gflops']:.3g}" + (f" = {preset}" if preset else ""),
                point,
                xytext=(6, -4),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=7.5,
                color=_colour(rank),
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
            )


def _member_style(runs: Sequence[RunTable]) -> list[Line2D]:
    """The legend entry of members, where a run has them."""
    if all(run.members.empty for run in runs):
        return []
    label = "member (labelled: its target)"
    return [Line2D([], [], ls="", marker="D", ms=7, mec="black", color=NEUTRAL, label=label)]


def _preset(run: RunTable, row: Mapping[str, Any]) -> str | None:
    """The name of the space's preset whose configuration the row's is, if any."""
    config = run.space.from_dict({name: row[name] for name in run.space.to_dict(run.space.seed)})
    return next((name for name, known in run.space.presets.items() if known == config), None)


def _point_label(run: RunTable, row: Mapping[str, Any]) -> str:
    """The axis taken at a step; a model that is one of the space's presets is named too."""
    preset = _preset(run, row)
    if row["axis"] == SEED_AXIS:
        return preset or "seed"
    return f"{row['axis']} ({preset})" if preset else str(row["axis"])


def _path_rows(run: RunTable, column: str = "gflops") -> list[dict[str, Any]]:
    """The kept models in step order, with `column` taken from the trials table if path.csv
    does not hold it."""
    if run.path.empty:
        return []
    path = run.path.sort_values("step", kind="stable")
    if column not in path:
        path = path.merge(run.trials[["trial_id", column]], on="trial_id", how="left")
    return path.to_dict("records")


def _final_cost(run: RunTable, column: str) -> float | None:
    """The final model's `column`: from final.yaml, else from its row of the trials table."""
    if run.final is None:
        return None
    if column in run.final:
        return float(run.final[column])
    rows = run.trials.loc[run.trials["trial_id"] == run.final.get("trial_id"), column]
    return None if rows.empty or pd.isna(rows.iloc[0]) else float(rows.iloc[0])


def _draw_targets(
    axes: Axes, runs: Sequence[RunTable], vertical: bool, cost: Cost = GFLOPS
) -> None:
    """One dashed line per distinct target of `cost`, named where the paths rarely are."""
    if cost == LATENCY:
        targets = {run.target_latency_ms for run in runs} - {None}
    else:
        targets = {target for run in runs for target in run.targets}
    for target in sorted(targets):
        text = f"target {target:g} {cost.unit}"
        if vertical:
            axes.axvline(target, ls="--", lw=1, color=NEUTRAL, zorder=1)
            axes.annotate(
                text,
                (target, 0.08),
                xycoords=axes.get_xaxis_transform(),
                xytext=(-3, 0),
                textcoords="offset points",
                rotation=90,
                ha="right",
                va="bottom",
                fontsize=8,
                color=NEUTRAL,
            )
        else:
            axes.axhline(target, ls="--", lw=1, color=NEUTRAL, zorder=1)
            axes.annotate(
                text,
                (0, target),
                xycoords=axes.get_yaxis_transform(),
                xytext=(3, 3),
                textcoords="offset points",
                ha="left",
                va="bottom",
                fontsize=8,
                color=NEUTRAL,
            )


def _log_axis(axis: Any) -> None:
    """Ticks at 1-2-5 multiples written as plain numbers (0.05, 0.1, 0.2), not powers of ten."""
    axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _legend(
    figure: Figure, runs: Sequence[RunTable], style: list[Line2D], cost: Cost = GFLOPS
) -> None:
    """Each run by name (with its final model, when there is one, and the device its latency
    was measured on), then the marker styles."""
    names = []
    for rank, run in enumerate(runs):
        label = run.name
        if cost == LATENCY:
            label += f" ({_device(run)})"
        final = _final_cost(run, cost.column)
        if run.final is not None and final is not None:
            label += f"\nfinal {final:.3g} {cost.unit}, {100 * run.final['top1']:.1f} %"
        names.append(Line2D([], [], ls="", marker="s", ms=9, color=_colour(rank), label=label))
    figure.legend(handles=[*names, *style], loc="outside right upper", fontsize=8.5, frameon=False)


def _device(run: RunTable) -> str:
    """The device most of the run's trials ran on."""
    devices = run.trials["device"].dropna().astype(str)
    devices = devices[devices != ""]
    return devices.mode().iloc[0] if not devices.empty else "device unknown"


def _colour(rank: int) -> Any:
    return COLOURS[rank % len(COLOURS)]


def _save(figure: Figure, out: Path) -> None:
    FigureCanvasAgg(figure)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, lambda path: figure.savefig(path, dpi=DPI, format="png"))
