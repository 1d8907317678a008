"""Frontier and path figures, the Pareto front, the run loader and `python -m expansion.plot`."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from test_store import make_record

from expansion.errors import UserError
from expansion.plot import main
from expansion.results.figures import (
    _device,
    draw_figures,
    has_latency,
    pareto_front,
    searched_latency,
)
from expansion.results.run_table import load_run
from expansion.results.store import HARDWARE_CSV, ResultsStore
from expansion.search.records import TrialRecord
from search_spaces.x3d import AXES, X3D_SPACE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAPER_PATH = ("bottleneck", "frame_rate", "spatial", "depth", "temporal")


def fake_search(
    run_dir: Path, kept_axes: tuple[str, ...], seed: int, target: float = 0.45
) -> list[TrialRecord]:
    """A search's files as the coordinator writes them: six candidates a step, the named axis
    kept, one failed candidate, and a contraction of the last axis under `target`."""
    rng = random.Random(seed)
    store = ResultsStore(run_dir, X3D_SPACE)
    kept = make_record(X3D_SPACE.seed, step=0, trial_id="s0", top1=0.22, run_id=run_dir.name)
    store.append(kept)
    path = [kept]
    for step, kept_axis in enumerate(kept_axes, start=1):
        candidates = []
        best_gain = rng.uniform(0.05, 0.08)
        for axis in AXES:
            gain = best_gain if axis == kept_axis else rng.uniform(-0.02, best_gain - 0.005)
            failed = step == 3 and axis == "width"
            candidates.append(
                make_record(
                    AXES[axis].expand(kept.spec.config),
                    step=step,
                    axis=axis,
                    parent=kept.trial_id,
                    top1=round(kept.outcome.top1 + gain, 4),
                    status="failed" if failed else "ok",
                    error="CUDA out of memory" if failed else "",
                    run_id=run_dir.name,
                )
            )
        for record in candidates:
            store.append(record)
        kept = max(candidates, key=lambda record: record.outcome.top1 if record.usable else -1)
        path.append(kept)
    contract_step = len(kept_axes) + 1
    for factor in (0.6, 0.75, 0.9):
        last_axis = AXES[kept_axes[-1]]
        config = last_axis.apply(path[-2].spec.config, last_axis.step * factor)
        trial = make_record(
            config,
            step=contract_step,
            axis=last_axis.name,
            parent=path[-2].trial_id,
            phase="contract",
            top1=round(path[-1].outcome.top1 - 0.05 * (1 - factor) - 0.01, 4),
            trial_id=f"c{factor}",
            run_id=run_dir.name,
        )
        store.append(trial)
        if trial.spec.gflops <= target:
            final = trial
    path.append(final)
    store.write_path(path)
    store.write_final(final, "", {"target_gflops": target})
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    paper, other = root / "x3d-seed0", root / "x3d-seed1"
    fake_search(paper, PAPER_PATH, seed=0)
    fake_search(other, ("spatial", "frame_rate", "bottleneck", "temporal", "depth"), seed=1)
    return [paper, other]


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000


@pytest.mark.parametrize(
    ("points", "front"),
    [
        ([], []),
        ([(1.0, 50.0)], [(1.0, 50.0)]),
        # A costlier, worse point is dominated; a costlier, better one extends the front.
        ([(2.0, 40.0), (1.0, 50.0), (4.0, 60.0)], [(1.0, 50.0), (4.0, 60.0)]),
        # Equal cost: only the best counts. Equal accuracy at higher cost: dominated.
        ([(1.0, 30.0), (1.0, 45.0), (2.0, 45.0), (3.0, 47.0)], [(1.0, 45.0), (3.0, 47.0)]),
        (
            [(0.1, 20.0), (0.2, float("nan")), (0.3, 25.0), (0.25, 30.0)],
            [(0.1, 20.0), (0.25, 30.0)],
        ),
        ([(5.0, 9.0), (4.0, 8.0), (3.0, 7.0)], [(3.0, 7.0), (4.0, 8.0), (5.0, 9.0)]),
        (
            [(float("nan"), 90.0), (2.0, 5.0), (1.0, float("nan")), (1.0, 4.0)],
            [(1.0, 4.0), (2.0, 5.0)],
        ),
    ],
)
def test_pareto_front(points: list[tuple[float, float]], front: list[tuple[float, float]]) -> None:
    assert pareto_front(points) == front


def test_load_run(runs: list[Path]) -> None:
    run = load_run(runs[0])
    assert run.name == "x3d-seed0" and run.target_gflops == 0.45
    assert len(run.trials) == 1 + 6 * len(PAPER_PATH) + 3
    assert run.path["axis"].tolist() == ["seed", *PAPER_PATH, "temporal"]
    assert run.path["phase"].tolist()[-1] == "contract"
    assert run.final is not None and run.final["gflops"] <= 0.45


def test_load_run_rejects_a_directory_without_trials(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no trials table"):
        load_run(tmp_path)
    with pytest.raises(UserError, match="no such run directory"):
        load_run(tmp_path / "missing")


def test_an_unfinished_run_still_plots(tmp_path: Path) -> None:
    """A killed run has trials but no path.csv or final.yaml yet."""
    store = ResultsStore(tmp_path, X3D_SPACE)
    store.append(make_record(X3D_SPACE.seed, step=0))
    store.append(
        make_record(
            AXES["depth"].expand(X3D_SPACE.seed),
            step=1,
            axis="depth",
            status="failed",
            error="boom",
        )
    )
    assert main([str(tmp_path)]) == 0
    assert_png(tmp_path / "frontier.png")
    assert_png(tmp_path / "path.png")


def test_cli_redraws_into_a_single_run_dir(runs: list[Path]) -> None:
    for name in ("frontier.png", "path.png"):
        (runs[0] / name).unlink(missing_ok=True)
    assert main([str(runs[0])]) == 0
    assert_png(runs[0] / "frontier.png")
    assert_png(runs[0] / "path.png")


def test_cli_overlays_several_runs(
    runs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main([*map(str, runs), "--out", str(tmp_path / "overlay")]) == 0
    assert_png(tmp_path / "overlay" / "frontier.png")
    monkeypatch.chdir(tmp_path)
    assert main([*map(str, runs)]) == 0
    assert_png(tmp_path / "path.png")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: [str(root / "missing")], "no such run directory"),
        (lambda root: [str(root)], "no trials table"),
        (lambda root: [], "the following arguments are required"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(make(tmp_path))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert err.startswith("python -m expansion.plot: error:")


def timed_copy(run_dir: Path, out: Path, device: str, slowdown: float) -> Path:
    """`run_dir` with every trial's latency measured on `device` (cost ∝ GFLOPs × slowdown)."""
    store = ResultsStore(out, X3D_SPACE)
    for record in ResultsStore(run_dir, X3D_SPACE).records():
        measured = record.outcome.status == "ok"
        outcome = replace(
            record.outcome,
            device=device,
            latency_ms=record.spec.gflops * slowdown if measured else float("nan"),
        )
        store.append(replace(record, outcome=outcome))
    for name in ("path.csv", "final.yaml"):
        (out / name).write_bytes((run_dir / name).read_bytes())
    return out


def test_latency_frontier_overlays_runs_labelled_by_device(
    runs: list[Path], tmp_path: Path
) -> None:
    cpu = timed_copy(runs[0], tmp_path / "cpu", "cpu", 300.0)
    gpu = timed_copy(runs[1], tmp_path / "gpu", "cuda:0 NVIDIA H100", 4.0)
    tables = [load_run(cpu), load_run(gpu)]
    assert [_device(run) for run in tables] == ["cpu", "cuda:0 NVIDIA H100"]
    written = draw_figures(tables, tmp_path / "figures")
    assert [path.name for path in written] == ["frontier.png", "path.png", "frontier_latency.png"]
    for path in written:
        assert_png(path)
    # Runs recorded before latency was measured draw no latency figure.
    assert not has_latency(load_run(runs[0]))
    assert [path.name for path in draw_figures([load_run(runs[0])], tmp_path / "old")] == [
        "frontier.png",
        "path.png",
    ]


def test_the_latency_figure_takes_the_searchs_own_measurements(
    runs: list[Path], tmp_path: Path
) -> None:
    run_dir = timed_copy(runs[0], tmp_path / "timed", "cpu", 300.0)
    trials = load_run(run_dir).trials
    kept = pd.read_csv(run_dir / "path.csv")["trial_id"].iloc[-2]
    row = trials.set_index("trial_id").loc[kept]
    fields = list(X3D_SPACE.to_dict(X3D_SPACE.seed))
    measured = {"figure": "latency_ms", **{name: row[name] for name in fields}, "value": 7.5}
    pd.DataFrame([measured]).to_csv(run_dir / HARDWARE_CSV, index=False)

    searched = searched_latency(load_run(run_dir)).trials
    same_config = (trials[fields] == row[fields]).all(axis=1)
    assert same_config.any() and (searched.loc[same_config, "latency_ms"] == 7.5).all()
    pd.testing.assert_series_equal(
        searched.loc[~same_config, "latency_ms"], trials.loc[~same_config, "latency_ms"]
    )
    assert list(searched["trial_id"]) == list(trials["trial_id"])
    assert_png(draw_figures([load_run(run_dir)], tmp_path / "figures")[-1])
