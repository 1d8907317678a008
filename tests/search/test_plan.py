"""The plan printed before a search: projected steps, trials and time."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import yaml
from hydra_configs import CONF

from expansion.data import ClipDataset, SyntheticSpec, build_dataset
from expansion.search.complexity import config_complexity
from expansion.search.console import format_plan
from expansion.search.coordinator import SearchSettings
from expansion.search.plan import _step_multiplier, estimate, probe_config, untimed
from expansion.training.resources import trial_settings
from search_spaces.base import InputView
from search_spaces.x3d import AXES, X3D_SPACE

SMOKE, RESOURCES = trial_settings(yaml.safe_load((CONF / "trial" / "smoke.yaml").read_text()))
SETTINGS = SearchSettings(target_gflops=(0.05,), axes=tuple(AXES), num_classes=12)


def synthetic_train(view: InputView) -> ClipDataset:
    return build_dataset(SyntheticSpec(num_videos=24), view, "train")


def test_plan_projects_steps_until_the_target_and_one_contraction() -> None:
    plan = estimate(
        X3D_SPACE, SETTINGS, SMOKE, RESOURCES, synthetic_train, val_videos=12, sequential=True
    )
    # 0.0199 GFLOPs, then 2× per step: 0.040 < 0.05 < 0.080, so two steps and a contraction.
    assert [step.label for step in plan.steps] == ["seed", "1", "2", "contr."]
    assert [step.trials for step in plan.steps] == [1, 6, 6, 1]
    assert plan.trials == 14 and plan.parallel == 1
    # Per trial: one epoch of the 24 training videos, and the 12 validation videos once.
    assert plan.train_clips == 24 and plan.eval_clips == 12
    assert plan.steps[2].gflops == pytest.approx(4 * plan.steps[0].gflops)
    assert all(step.seconds > 0 for step in plan.steps)
    assert plan.steps[2].seconds > plan.steps[1].seconds  # bigger candidates cost more
    text = format_plan(plan, SETTINGS, "cpu")
    assert "about 14 trials" in text and "contr." in text


def test_plan_without_reaching_the_target_has_no_contraction() -> None:
    capped = replace(SETTINGS, max_steps=1)
    plan = estimate(
        X3D_SPACE, capped, SMOKE, RESOURCES, synthetic_train, val_videos=12, sequential=True
    )
    assert [step.label for step in plan.steps] == ["seed", "1"]


def test_plan_to_x3d_xs_takes_five_steps_of_step_factor() -> None:
    # Every candidate costs ≈ step_factor × its parent, so from the seed's 0.0199 GFLOPs
    # (12 classes) five steps of 2× reach 0.64 > 0.6: the paper's five steps to X3D-XS.
    settings = replace(SETTINGS, target_gflops=(0.6,))
    plan = estimate(
        X3D_SPACE, settings, SMOKE, RESOURCES, synthetic_train, val_videos=12, sequential=True
    )
    assert [step.label for step in plan.steps] == ["seed", "1", "2", "3", "4", "5", "contr."]
    seed = plan.steps[0].gflops
    assert [step.gflops for step in plan.steps[1:6]] == pytest.approx(
        [seed * 2**n for n in range(1, 6)]
    )
    # Without a step factor each axis takes its paper step: 1.93× on average from X2D.
    paper = replace(settings, step_factor=None)
    assert 1.85 < _step_multiplier(X3D_SPACE, paper) < 1.97


def test_a_target_under_twice_the_seed_probes_the_seed_alone() -> None:
    settings = replace(SETTINGS, target_gflops=(0.03,))  # the seed: 0.0199 GFLOPs
    plan = estimate(X3D_SPACE, settings, SMOKE, RESOURCES, synthetic_train, val_videos=12)
    assert [step.label for step in plan.steps] == ["seed", "1", "contr."]
    assert plan.train_seconds[1] == 0.0 and plan.seconds > 0


def test_a_target_far_beyond_max_steps_probes_a_model_the_steps_reach() -> None:
    far = replace(SETTINGS, target_gflops=(1e6,), max_steps=4)
    probed = config_complexity(X3D_SPACE, probe_config(X3D_SPACE, far), 12).gflops
    assert probed <= 0.0199 * 2**4  # about half of what 4 steps of 2× reach, not of 1e6
    plan = estimate(X3D_SPACE, far, SMOKE, RESOURCES, synthetic_train, val_videos=12)
    assert [step.label for step in plan.steps] == ["seed", "1", "2", "3", "4"]
    assert "short of the target: the search stops there" in format_plan(plan, far, "cpu")


def test_a_plan_to_several_targets_contracts_for_each_and_a_replay_trains_one_a_step() -> None:
    # 0.0199 GFLOPs, then 2× per step: step 1 passes 0.03, step 2 passes 0.05.
    several = replace(SETTINGS, target_gflops=(0.03, 0.05))
    plan = untimed(X3D_SPACE, several, RESOURCES, sequential=True)
    assert [step.label for step in plan.steps] == ["seed", "1", "contr.", "2", "contr."]
    assert [step.trials for step in plan.steps] == [1, 6, 1, 6, 1]
    assert math.isnan(plan.seconds)
    text = format_plan(plan, several, "cpu")
    assert "Search to 0.03, 0.05 GFLOPs" in text
    assert "about 15 trials" in text and "estimate" not in text  # no probe, no time
    # A replayed first step trains its one candidate (spatial: crop 112 → 160, 2.0×); the
    # second step is the search's own again.
    replayed = replace(several, replay=("spatial",))
    plan = untimed(X3D_SPACE, replayed, RESOURCES, sequential=True)
    assert [step.label for step in plan.steps] == ["seed", "1", "contr.", "2", "contr."]
    assert [step.trials for step in plan.steps] == [1, 1, 1, 6, 1]
    assert 1.9 < plan.steps[1].gflops / plan.steps[0].gflops < 2.1
    assert plan.steps[2].gflops <= 0.03
