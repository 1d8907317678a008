"""Evidence per step: leads over the runner-up in path.csv, seed noise across runs, and the
comparison command that puts them side by side."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_store import approx_gflops, make_record

from expansion import compare
from expansion.results.evidence import (
    bootstrap_interval,
    paired_lead_interval,
    seed_noise,
    video_hits,
)
from expansion.results.run_table import load_run
from expansion.results.store import ResultsStore
from search_spaces.x3d import AXES, X3D_SPACE

SEED = X3D_SPACE.seed
STEP_ONE = {axis: AXES[axis].expand(SEED) for axis in ("frame_rate", "spatial", "depth")}


def write_run(
    folder: Path,
    seed: int,
    top1: dict[str, float],
    kept: str,
    order: tuple[str, ...] = (),
    cpu_s: float = math.nan,
) -> None:
    """A finished two-step run: the seed, three step-1 candidates with `top1` (recorded in
    `order`, by default STEP_ONE's, each with `cpu_s`), `kept` kept."""
    store = ResultsStore(folder, X3D_SPACE)
    records = [make_record(SEED, step=0, trial_id="000", top1=0.1, run_id=folder.name)]
    for axis in order or STEP_ONE:
        config = STEP_ONE[axis]
        record = make_record(config, step=1, axis=axis, parent="000", top1=top1[axis])
        records.append(replace(record, run_id=folder.name, seed=seed))
    records[0] = replace(records[0], seed=seed)
    records = [replace(r, outcome=replace(r.outcome, cpu_s=cpu_s)) for r in records]
    for record in records:
        store.append(record)
    store.write_path([records[0], next(r for r in records if r.spec.axis == kept)])


def test_path_csv_gives_each_step_its_runner_up_and_lead(tmp_path: Path) -> None:
    write_run(tmp_path, 0, {"frame_rate": 0.40, "spatial": 0.25, "depth": 0.30}, "frame_rate")
    path = pd.read_csv(tmp_path / "path.csv")
    assert math.isnan(path["lead"][0]) and path["runner_up"].isna()[0]  # the seed: no rival
    assert path["runner_up"][1] == "depth"
    assert path["runner_up_top1"][1] == pytest.approx(0.30)
    assert path["lead"][1] == pytest.approx(0.10)


def test_a_margin_that_kept_a_weaker_candidate_shows_a_negative_lead(tmp_path: Path) -> None:
    write_run(tmp_path, 0, {"frame_rate": 0.40, "spatial": 0.38, "depth": 0.30}, "spatial")
    path = pd.read_csv(tmp_path / "path.csv")
    assert (path["runner_up"][1], path["lead"][1]) == ("frame_rate", pytest.approx(-0.02))


def test_a_tie_for_runner_up_goes_to_the_cheaper_whatever_order_trials_finished(
    tmp_path: Path,
) -> None:
    tied = {"frame_rate": 0.40, "spatial": 0.30, "depth": 0.30}
    cheaper = min(("spatial", "depth"), key=lambda axis: approx_gflops(STEP_ONE[axis]))
    for order in [("frame_rate", "spatial", "depth"), ("depth", "spatial", "frame_rate")]:
        write_run(tmp_path / "-".join(order), 0, tied, "frame_rate", order)
        assert pd.read_csv(tmp_path / "-".join(order) / "path.csv")["runner_up"][1] == cheaper


def test_seed_noise_pairs_the_same_candidates_of_runs_with_other_seeds(tmp_path: Path) -> None:
    write_run(tmp_path / "a", 0, {"frame_rate": 0.40, "spatial": 0.25, "depth": 0.30}, "spatial")
    write_run(tmp_path / "b", 1, {"frame_rate": 0.45, "spatial": 0.24, "depth": 0.30}, "spatial")
    write_run(tmp_path / "c", 1, {"frame_rate": 0.90, "spatial": 0.90, "depth": 0.90}, "spatial")
    runs = [load_run(tmp_path / name) for name in "ab"]
    noise = seed_noise(runs)
    # four candidates in both (seed and three step-1 ones): |Δ| 0, 0.05, 0.01, 0
    assert sorted(noise.differences) == pytest.approx([0.0, 0.0, 0.01, 0.05])
    assert noise.median == pytest.approx(0.005)
    assert noise.threshold == pytest.approx(0.01 + 0.85 * 0.04)  # 95 % of the way: 2.85 of 3
    # runs of the same seed measure no noise between them
    assert seed_noise([load_run(tmp_path / "b"), load_run(tmp_path / "c")]).pairs == 0


def test_compare_prints_and_writes_each_step_against_the_noise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = {"frame_rate": 0.6, "spatial": 0.25, "depth": 0.3}
    second = {"frame_rate": 0.58, "spatial": 0.27, "depth": 0.32}
    write_run(tmp_path / "s0", 0, first, "frame_rate", cpu_s=30.0)
    write_run(tmp_path / "s1", 1, second, "frame_rate")  # recorded before cpu_s existed
    out = tmp_path / "comparison.md"
    assert compare.main([str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_text() == text
    assert "4 candidates trained with two seeds" in text
    # 4 trials of 12.5 s; CPU time only where every trial recorded it (4 × 30 s)
    assert "s0: 4 trials, 0m50s of trial time in all, 2m00s of CPU time" in text
    assert text.endswith("s1: 4 trials, 0m50s of trial time in all\n")
    rows = [line for line in text.splitlines() if line.startswith("| 1 |")]
    # leads of 30 and 26 points beat the noise (95th percentile 2 points); GFLOPs 0.0207 × 2
    # frames (make_record's estimate), 3 trials of 12.5 s = 0.6 minutes
    assert rows == [
        "| 1 | frame_rate (0.0414) | 60.0 | depth 30.0 | 30.0 ✓ | 0.6 "
        "| frame_rate (0.0414) | 58.0 | depth 32.0 | 26.0 ✓ | 0.6 | yes |"
    ]


def test_a_step_decided_on_confirmations_leads_by_their_means(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """confirm_seeds: frame_rate 0.40 and spatial 0.38 trained again with seed 1 (0.30, 0.38):
    spatial is kept on the means (0.38 against 0.35), 3 points ahead with two seeds each."""
    write_run(tmp_path / "s0", 0, {"frame_rate": 0.40, "spatial": 0.38, "depth": 0.30}, "spatial")
    store = ResultsStore(tmp_path / "s0", X3D_SPACE)
    for axis, top1 in (("frame_rate", 0.30), ("spatial", 0.38)):
        record = make_record(STEP_ONE[axis], step=1, axis=axis, parent="000", top1=top1)
        spec = replace(record.spec, trial_id=f"01-{axis}-seed1", seed_offset=1)
        store.append(replace(record, spec=spec, run_id="s0"))
    kept = next(r for r in store.records() if r.trial_id == "01-spatial")
    store.write_path([next(iter(store.records())), kept])
    path = pd.read_csv(tmp_path / "s0" / "path.csv")
    assert (path["runner_up"][1], path["runner_up_top1"][1]) == ("frame_rate", pytest.approx(0.35))
    assert (path["lead"][1], path["lead_seeds"][1]) == (pytest.approx(0.03), 2)

    # seed 1's run: every step-1 candidate 4 points off seed 0's, so the noise is 4 points; a
    # 3-point lead of two seeds' means is beyond it (4 / √2 = 2.8), one of single trials is not
    scores = {"frame_rate": 0.44, "spatial": 0.42, "depth": 0.34}
    write_run(tmp_path / "s1", 1, scores, "frame_rate")
    assert compare.main([str(tmp_path / "s0"), str(tmp_path / "s1")]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1 |"))
    assert "| 3.0 (2 seeds) ✓ |" in row and "| 2.0 ✗ |" in row


def test_compare_holds_runs_against_a_baseline_by_axes_final_model_and_cpu_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = {"frame_rate": 0.6, "spatial": 0.5, "depth": 0.3}
    write_run(tmp_path / "scratch", 0, scores, "frame_rate", cpu_s=30.0)
    write_run(tmp_path / "cheap", 0, scores, "spatial", cpu_s=10.0)
    assert compare.main([str(tmp_path / "cheap"), "--baseline", str(tmp_path / "scratch")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "GFLOPs" in line]
    # 4 trials of 30 and of 10 CPU seconds; the seed's frame_rate step (2 × 16 × 112) against
    # spatial's (1 × 32 × 160), 0.0414 against 0.0207 × (160 / 112)² GFLOPs (make_record's estimate)
    assert rows == [
        "| scratch | frame_rate | - | 0.0414 GFLOPs, baseline | 60.0 | 2.0 | 1.00 |",
        "| cheap | spatial | 1 | 0.0422 GFLOPs, frames 1 (2), stride 32 (16), crop 160 (112) "
        "| 50.0 | 0.7 | 0.33 |",
    ]


def test_compare_refuses_an_unfinished_run_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ResultsStore(tmp_path / "running", X3D_SPACE)
    store.append(make_record(SEED, step=0, trial_id="000"))
    with pytest.raises(SystemExit) as exit:
        compare.main([str(tmp_path / "running")])
    assert exit.value.code == 2
    assert capsys.readouterr().err == (
        "python -m expansion.compare: error: running: no path.csv (the search has not finished)\n"
    )


def test_the_bootstrap_interval_of_top1_matches_the_normal_approximation() -> None:
    hits = np.array([1.0] * 180 + [0.0] * 60)  # 75 % of 240 videos
    low, high = bootstrap_interval(hits)
    half_width = 1.96 * math.sqrt(0.75 * 0.25 / 240)  # 0.0548
    assert low == pytest.approx(0.75 - half_width, abs=0.01)
    assert high == pytest.approx(0.75 + half_width, abs=0.01)
    assert bootstrap_interval(hits) == (low, high)  # fixed resamples: reproducible


def lead_interval(kept: str, other: str) -> tuple[float, float]:
    """`paired_lead_interval` of two trials' recorded `correct` strings."""
    return paired_lead_interval(video_hits(kept), video_hits(other))


def test_a_paired_lead_interval_counts_only_the_videos_the_two_trials_disagree_on() -> None:
    assert lead_interval("1100", "1100") == (0.0, 0.0)
    assert lead_interval("1111", "0000") == (1.0, 1.0)
    assert all(math.isnan(value) for value in lead_interval("", "1010"))
    # 240 videos: the kept trial alone right on 30, the other alone on 6: lead 0.1
    kept = "1" * 30 + "0" * 6 + "1" * 100 + "0" * 104
    other = "0" * 30 + "1" * 6 + "1" * 100 + "0" * 104
    low, high = lead_interval(kept, other)
    differences = np.array([1.0] * 30 + [-1.0] * 6 + [0.0] * 204)
    half_width = 1.96 * differences.std() / math.sqrt(240)
    assert (low, high) == pytest.approx((0.1 - half_width, 0.1 + half_width), abs=0.01)
    assert low > 0  # a lead beyond what the choice of validation videos explains
