"""The coordinator on a fake trial whose accuracy is a known function of the configuration."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import pytest

from expansion.complexity import config_complexity
from expansion.coordinator import (
    Finished,
    SearchError,
    SearchSettings,
    Train,
    next_action,
    validate,
)
from expansion.records import TrialOutcome, TrialRecord, TrialSpec
from search_spaces.x3d import AXES, X3D_SPACE, X3DConfig

ALL_AXES = tuple(AXES)
Accuracy = Callable[[X3DConfig], float]


def saturating_accuracy(config: X3DConfig) -> float:
    """Resolution pays most but once (up to crop 160), depth next and once, frames always."""
    spatial = 0.3 * min(math.log2(config.crop / 112), 0.5)
    depth = 0.1 * min(math.log2(config.depth_factor), 1.2)
    return 0.2 + spatial + depth + 0.05 * math.log2(config.frames)


def fake_outcome(spec: TrialSpec, accuracy: Accuracy, failing: set[str]) -> TrialOutcome:
    if spec.trial_id in failing:
        return TrialOutcome(status="failed", error="RuntimeError: boom")
    top1 = accuracy(spec.config)
    return TrialOutcome(status="ok", top1=top1, top5=min(1.0, top1 + 0.2), epochs=1)


def run_search(
    settings: SearchSettings,
    accuracy: Accuracy = saturating_accuracy,
    failing: frozenset[str] = frozenset(),
    records: list[TrialRecord] | None = None,
    stop_after: int | None = None,
) -> tuple[Finished | None, list[TrialRecord]]:
    """Drive the coordinator to the end (or for `stop_after` trials), training fakes."""
    records = list(records or [])
    trained = 0
    while True:
        action = next_action(X3D_SPACE, settings, records)
        if isinstance(action, Finished):
            return action, records
        assert action.trials, "a Train action always has work"
        for spec in action.trials:
            if stop_after is not None and trained == stop_after:
                return None, records
            outcome = fake_outcome(spec, accuracy, set(failing))
            records.append(TrialRecord("run", 0, spec, outcome))
            trained += 1


def gflops(config: X3DConfig) -> float:
    return config_complexity(X3D_SPACE, config).gflops


def assert_largest_within(record: TrialRecord, overshoot: X3DConfig, target: float) -> None:
    """Independent of the bisection: no factor on a grid gives a bigger model within target."""
    apply = AXES[record.spec.axis].apply
    grid = [gflops(apply(overshoot, i / 60)) for i in range(1, 60)]
    assert max(g for g in grid if g <= target) <= record.spec.gflops <= target


SETTINGS = SearchSettings(target_gflops=0.2, axes=ALL_AXES)


def test_forward_path_follows_the_best_candidate_each_step() -> None:
    final, records = run_search(SETTINGS)
    axes = [record.spec.axis for record in final.path]
    assert axes == ["seed", "spatial", "depth", "temporal", "temporal", "temporal"]
    # Every step trained one candidate per axis, each ≈ 2× its parent.
    for step in range(1, 5):
        step_records = [r for r in records if r.spec.step == step]
        assert [r.spec.axis for r in step_records] == list(ALL_AXES)
        parent = final.path[step - 1]
        assert all(r.spec.parent == parent.trial_id for r in step_records)
        assert all(1.6 <= r.spec.gflops / parent.spec.gflops <= 2.6 for r in step_records)


def test_forward_stops_at_the_first_model_over_the_target() -> None:
    final, records = run_search(SETTINGS)
    forward = [r for r in final.path if r.spec.phase == "forward"]
    assert forward[-1].spec.gflops > SETTINGS.target_gflops
    assert all(r.spec.gflops < SETTINGS.target_gflops for r in forward[:-1])
    assert max(r.spec.step for r in records) == forward[-1].spec.step + 1  # one contraction step


def test_contract_last_shrinks_the_last_axis_to_the_largest_model_within_target() -> None:
    final, records = run_search(SETTINGS)
    overshoot = final.path[-2]
    contracted = [r for r in records if r.spec.phase == "contract"]
    assert [r.spec.axis for r in contracted] == [overshoot.spec.axis] == ["temporal"]
    assert final.final is final.path[-1] is contracted[0]
    assert_largest_within(final.final, overshoot.spec.config, SETTINGS.target_gflops)
    assert final.final.spec.config.frames < overshoot.spec.config.frames
    if final.final.spec.gflops < 0.85 * SETTINGS.target_gflops:
        assert "rounding of temporal allows no model" in final.note


def test_contract_all_trains_every_axis_and_keeps_the_best() -> None:
    settings = replace(SETTINGS, contract="all")
    final, records = run_search(settings)
    overshoot = final.path[-2]
    contracted = [r for r in records if r.spec.phase == "contract"]
    assert {r.spec.axis for r in contracted} == set(ALL_AXES)
    for record in contracted:
        assert record.spec.parent == overshoot.trial_id
        assert_largest_within(record, overshoot.spec.config, settings.target_gflops)
    eligible = [r for r in contracted if r.spec.gflops >= 0.85 * settings.target_gflops]
    assert final.final.outcome.top1 == max(r.outcome.top1 for r in eligible)


def test_rebuilds_state_from_a_results_table_and_resumes_without_repeats() -> None:
    _, uninterrupted = run_search(SETTINGS)
    for stop_after in [1, 4, 9, 16]:
        _, partial = run_search(SETTINGS, stop_after=stop_after)
        table = pd.DataFrame([record.to_row(X3D_SPACE) for record in partial])
        buffer = io.StringIO()
        table.to_csv(buffer, index=False)
        buffer.seek(0)
        rows = pd.read_csv(buffer, keep_default_na=True).to_dict("records")
        rebuilt = [TrialRecord.from_row(row, X3D_SPACE) for row in rows]
        assert [r.spec for r in rebuilt] == [r.spec for r in partial]
        final, resumed = run_search(SETTINGS, records=rebuilt)
        assert [r.trial_id for r in resumed] == [r.trial_id for r in uninterrupted]
        assert final.final.spec == uninterrupted[-1].spec


def test_failed_candidates_are_skipped_and_the_search_goes_on() -> None:
    final, records = run_search(SETTINGS, failing=frozenset({"s01-spatial", "s02-depth"}))
    statuses = {r.trial_id: r.outcome.status for r in records}
    assert statuses["s01-spatial"] == statuses["s02-depth"] == "failed"
    assert final.path[1].spec.axis == "depth"  # the next best at step 1
    assert final.path[2].spec.axis == "spatial"  # depth failed at step 2
    assert final.final.spec.gflops <= SETTINGS.target_gflops


def test_a_step_where_everything_fails_stops_with_a_clear_error() -> None:
    failing = frozenset(f"s01-{axis}" for axis in ALL_AXES)
    with pytest.raises(SearchError, match="every candidate of step 1 failed"):
        run_search(SETTINGS, failing=failing)


def test_best_tradeoff_prefers_accuracy_per_added_gflop() -> None:
    def accuracy(config: X3DConfig) -> float:
        # From X2D a bottleneck step gains 0.10 for 1.98x GFLOPs, a width step 0.085 for 1.75x.
        bottleneck = 0.1 * math.log2(config.bottleneck_factor) / math.log2(2.25)
        width = 0.085 * math.log2(config.width_factor / 2) / math.log2(math.sqrt(2))
        return 0.2 + bottleneck + width

    settings = replace(SETTINGS, max_steps=1, target_gflops=1.0)
    accurate, _ = run_search(settings, accuracy)
    assert accurate.path[1].spec.axis == "bottleneck"
    thrifty, records = run_search(replace(settings, selection="best_tradeoff"), accuracy)
    step1 = {r.spec.axis: r for r in records if r.spec.step == 1}
    seed = records[0]

    def tradeoff(r: TrialRecord) -> float:
        return (r.outcome.top1 - seed.outcome.top1) / (r.spec.gflops - seed.spec.gflops)

    assert thrifty.path[1] is max(step1.values(), key=tradeoff)
    assert thrifty.path[1].spec.axis == "width"
    assert "max_steps=1 reached" in thrifty.note


def test_restricted_axes_and_step_factor() -> None:
    settings = replace(SETTINGS, axes=("spatial", "depth"), step_factor=4.0, target_gflops=0.5)
    final, records = run_search(settings)
    assert {r.spec.axis for r in records if r.spec.phase == "forward"} <= {
        "seed",
        "spatial",
        "depth",
    }
    seed = records[0]
    step1 = [r for r in records if r.spec.step == 1]
    assert len(step1) == 2
    assert all(3.0 <= r.spec.gflops / seed.spec.gflops <= 5.5 for r in step1)
    assert final.final.spec.gflops <= 0.5


def test_the_first_call_trains_the_seed() -> None:
    action = next_action(X3D_SPACE, SETTINGS, [])
    assert isinstance(action, Train)
    (seed,) = action.trials
    assert seed.config == X3D_SPACE.seed and seed.step == 0 and seed.parent == ""
    assert seed.gflops == pytest.approx(0.02066, rel=1e-3)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (replace(SETTINGS, axes=("spatial", "colour")), "unknown axis colour"),
        (replace(SETTINGS, target_gflops=0.0), "target_gflops must be positive"),
        (replace(SETTINGS, target_gflops=0.01), "not above the seed's 0.02066 GFLOPs"),
        (replace(SETTINGS, axes=()), "no axes"),
        (replace(SETTINGS, step_factor=1.0), "step_factor must be above 1"),
        (replace(SETTINGS, contract="none"), "unknown contract"),  # type: ignore[arg-type]
    ],
)
def test_bad_settings_are_rejected(settings: SearchSettings, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        validate(X3D_SPACE, settings)
