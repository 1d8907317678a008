"""Whole searches through `run_search`: files written, resume, failures, bad settings."""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import yaml
from hydra_configs import SMALL_SEARCH, compose_config
from scored_trials import ScoredTrials

from expansion.describe import main as describe
from expansion.errors import ConfigError, UserError
from expansion.results.store import ResultsStore
from expansion.search import hardware
from expansion.search.complexity import measure_config
from expansion.search.config import run_settings
from expansion.search.coordinator import TrialCrash
from expansion.search.dispatch import cpus_per_trial
from expansion.search.driver import dry_run, run_search
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training.latency import Latency
from expansion.training.resources import Resources
from expansion.training.trial import TrialJob, run_trial
from search_spaces.x3d import AXES, PRESETS, X3D_SPACE, X3DConfig

ROOT = Path(__file__).resolve().parents[2]
SMALL = SMALL_SEARCH
RUN_FILES = ["trials.parquet", "trials.csv", "path.csv", "final.yaml", "frontier.png", "path.png"]


def settings(*overrides: str) -> dict[str, Any]:
    return compose_config("config", *overrides)


def search(run_dir: Path, *overrides: str, trial_function: Any = run_trial) -> Any:
    config = settings(*SMALL, *overrides)
    return run_search(config, run_dir, trial_function=trial_function, stream=io.StringIO())


def expansion_run(*overrides: str) -> subprocess.CompletedProcess[str]:
    """`python -m expansion.run` on the small search with `overrides`, its output captured."""
    command = [sys.executable, "-m", "expansion.run", *SMALL, *overrides]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def check_run_dir(run_dir: Path) -> pd.DataFrame:
    for name in RUN_FILES:
        assert (run_dir / name).stat().st_size > 0, name
    assert (run_dir / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert len(pd.read_csv(run_dir / "trials.csv")) == len(trials)
    assert trials["trial_id"].is_unique
    return trials


def test_inline_search_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    result = search(tmp_path, "dispatcher=inline")
    trials = check_run_dir(tmp_path)
    assert list(trials["step"]) == sorted(trials["step"])
    assert set(trials["status"]) == {"ok"}
    assert trials.iloc[0]["axis"] == "seed"
    assert (trials["latency_ms"] > 0).all() and (trials["throughput_clips_s"] > 0).all()
    assert (tmp_path / "frontier_latency.png").read_bytes()[:4] == b"\x89PNG"
    assert result.final.spec.gflops <= 0.05
    path = pd.read_csv(tmp_path / "path.csv")
    assert list(path["trial_id"]) == [record.trial_id for record in result.path]
    final = yaml.safe_load((tmp_path / "final.yaml").read_text())
    assert final["trial_id"] == result.final.trial_id
    assert describe(["--config", str(tmp_path / "final.yaml"), "--json"]) == 0
    assert f'"crop": {result.final.spec.config.crop}' in capsys.readouterr().out


def flaky_trial(spec: TrialSpec, job: TrialJob, report: Any = None) -> TrialOutcome:
    """Depth candidates crash; frame-rate candidates diverge to a NaN loss (a huge lr)."""
    if spec.axis == "depth":
        raise RuntimeError(f"simulated crash in {spec.trial_id}")
    if spec.axis == "frame_rate":
        job = replace(job, schedule=replace(job.schedule, base_lr=1e30))
    return run_trial(spec, job, report)


def test_crashed_and_diverged_trials_are_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    result = search(tmp_path, "dispatcher=inline", trial_function=flaky_trial)
    trials = check_run_dir(tmp_path).set_index("trial_id")
    crashed = trials.loc["s01-depth"]
    assert crashed["status"] == "failed"
    assert crashed["error"] == "RuntimeError: simulated crash in s01-depth"
    diverged = trials.loc["s01-frame_rate"]
    assert diverged["status"] == "failed" and "NaN" in diverged["error"]
    assert math.isnan(diverged["top1"])
    assert [record.spec.axis for record in result.path][:2] == ["seed", "spatial"]


@pytest.mark.slow  # Ray's own path; test_interrupts' Ctrl-C test runs a Ray step in every CI run
def test_search_through_ray_records_results_and_failures(tmp_path: Path) -> None:
    import ray

    # Ray workers cannot import this test module; send the trial function by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    raylets_before = _raylets()
    result = search(tmp_path, "dispatcher=ray", "trial.max_failures=1", trial_function=flaky_trial)
    trials = check_run_dir(tmp_path).set_index("trial_id")
    assert trials.loc["s01-depth", "error"] == "RuntimeError: simulated crash in s01-depth"
    assert trials.loc["s01-spatial", "status"] == "ok"
    # The lone seed trial has the machine's CPUs as threads; a step of 3 trials shares them out.
    threads = trials["threads"]
    assert threads["s01-spatial"] == max(1, threads["s00-seed"] // 3)
    assert result.final.spec.gflops <= 0.05
    assert not ray.is_initialized()
    assert _raylets() <= raylets_before, "the search left its Ray processes behind"


def test_a_step_of_few_trials_shares_out_an_idle_local_machine() -> None:
    trial = Resources()
    assert cpus_per_trial(trial, step_size=1, machine_cpus=2) == 2  # the seed on 2 cores
    assert cpus_per_trial(trial, step_size=6, machine_cpus=2) == 1
    assert cpus_per_trial(trial, step_size=3, machine_cpus=16) == 5
    assert cpus_per_trial(replace(trial, cpus=4), step_size=6, machine_cpus=16) == 4
    assert cpus_per_trial(trial, step_size=1, machine_cpus=None) == 1  # a cluster: as configured
    assert cpus_per_trial(replace(trial, gpus=0.5), step_size=1, machine_cpus=16) == 1


def _raylets() -> set[str]:
    """PIDs of Ray's node processes on this machine (another user's Ray may be running)."""
    found = subprocess.run(["pgrep", "-f", "raylet"], capture_output=True, text=True, check=False)
    return set(found.stdout.split())


INHERIT = ["inherit=true", "trial.epochs=2", "+trial.inherited_epochs=1"]


@pytest.mark.parametrize(
    ("inherit", "lose_weights"),
    [
        pytest.param([], False, marks=pytest.mark.slow),  # the inheriting search covers both
        (INHERIT, False),
        (INHERIT, True),  # a clone of the run folder: no weights/
    ],
    ids=["from scratch", "inherit", "inherit, weights lost"],
)
def test_killed_search_resumes_without_repeating_trials(
    tmp_path: Path, inherit: list[str], lose_weights: bool
) -> None:
    reference = search(tmp_path / "reference", "dispatcher=inline", *inherit)
    run_dir = tmp_path / "killed"
    overrides = [*SMALL, "dispatcher=inline", f"run_dir={run_dir}", *inherit]
    command = [sys.executable, "-m", "expansion.run", *overrides]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not _rows(run_dir) >= 3 and child.poll() is None:
            time.sleep(0.2)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert 3 <= _rows(run_dir) < 9, "the search was not killed part-way"
    if lose_weights:
        shutil.rmtree(run_dir / "weights")
    console = io.StringIO()
    resumed = run_search({"resume": str(run_dir)}, tmp_path, stream=console)
    # the kept models the next trials start from are trained again, to the same weights
    assert ("top-1" in console.getvalue() and "as recorded" in console.getvalue()) == lose_weights
    trials = check_run_dir(run_dir)
    assert list(trials["trial_id"]) == list(
        pd.read_csv(tmp_path / "reference" / "trials.csv")["trial_id"]
    )
    assert resumed.final.spec == reference.final.spec
    # The same seed trains to the same accuracy (from the same inherited weights), so the resumed
    # choices are the uninterrupted ones.
    expected = pd.read_csv(tmp_path / "reference" / "trials.csv")
    assert list(trials["top1"]) == list(expected["top1"])


def test_inheriting_candidates_start_from_their_parents_weights(tmp_path: Path) -> None:
    result = search(tmp_path, "dispatcher=inline", *INHERIT)
    trials = check_run_dir(tmp_path).set_index("trial_id")
    seed = trials.loc["s00-seed"]
    assert seed["inherited_from"] == "" or pd.isna(seed["inherited_from"])
    assert seed["epochs"] == 2
    children = trials.drop(index="s00-seed")
    forward = children[children["phase"] == "forward"]
    assert (forward["inherited_from"] == forward["parent"]).all()
    assert (children["epochs"] == 1).all()  # trial.inherited_epochs
    # a finished search keeps the weights of its path's models only
    kept = sorted(path.stem for path in (tmp_path / "weights").glob("*.pt"))
    assert kept == sorted(record.trial_id for record in result.path)


def _rows(run_dir: Path) -> int:
    try:
        return len(pd.read_parquet(run_dir / "trials.parquet"))
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["target_gflops=0.01"], "not above the seed's"),
        (["target_gflops=-1"], "target_gflops must be positive"),
        (["axes=[spatial,colour]"], "unknown axis colour"),
        (["step_factor=1"], "step_factor must be above 1 or null"),
        (
            [
                "data=kinetics",
                "data.root=/no/such/root",
                "data.train_list=/no/t.csv",
                "data.val_list=/no/v.csv",
            ],
            "/no/",
        ),
        (["data=folder", "data.train_root=/no/such/train", "data.val_root=/no/v"], "/no/such"),
    ],
)
def test_bad_settings_fail_before_any_trial(
    tmp_path: Path, overrides: list[str], message: str
) -> None:
    config = settings("trial=smoke", "dispatcher=inline", "target_gflops=0.05", *overrides)
    with pytest.raises(UserError, match=message):
        run_search(config, tmp_path, trial_function=_never_called, stream=io.StringIO())
    assert not (tmp_path / "trials.csv").exists()


@pytest.mark.skipif(bool(_raylets()), reason="a Ray instance runs here: `auto` would join it")
def test_joining_a_cluster_that_is_not_there_is_a_one_line_error(tmp_path: Path) -> None:
    config = settings(*SMALL, "dispatcher=ray", "ray.address=auto")
    with pytest.raises(ConfigError, match=r"^ray.address=auto: cannot join a cluster \("):
        run_search(config, tmp_path, trial_function=_never_called, stream=io.StringIO())
    assert not (tmp_path / "trials.csv").exists()


def test_step_factor_null_takes_each_axis_paper_step(tmp_path: Path) -> None:
    assert run_settings(settings(*SMALL), tmp_path).search.step_factor == 2.0
    assert run_settings(settings(*SMALL, "step_factor=null"), tmp_path).search.step_factor is None


def test_a_run_recorded_before_the_cost_margin_keeps_the_cheapest_when_resumed(
    tmp_path: Path,
) -> None:
    assert run_settings(settings(*SMALL), tmp_path).search.selection_cost_margin == 0.05
    recorded = settings(*SMALL)
    del recorded["selection_cost_margin"]  # a search.yaml written before it existed
    assert run_settings(recorded, tmp_path).search.selection_cost_margin == 0.0


def _never_called(*args: Any) -> TrialOutcome:
    raise AssertionError("no trial may start when the settings are bad")


def test_entry_point_exits_2_with_one_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "expansion.run", "target_gflops=0.001", f"run_dir={tmp_path}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert re.fullmatch(
        r"expansion\.run: error: target_gflops=0\.001 is not above the seed's 0\.0\d+ GFLOPs", line
    )


def test_a_run_dir_is_not_overwritten_and_resume_needs_a_run(tmp_path: Path) -> None:
    (tmp_path / "trials.csv").write_text("run_id\n")
    with pytest.raises(ConfigError, match="already holds a search"):
        search(tmp_path, "dispatcher=inline", trial_function=_never_called)
    with pytest.raises(ConfigError, match="not a search run"):
        run_search({"resume": str(tmp_path / "nothing")}, tmp_path, stream=io.StringIO())


def test_a_run_records_its_dataset_and_a_resume_checks_it(tmp_path: Path) -> None:
    run = tmp_path / "run"
    search(run, "dispatcher=inline", trial_function=ScoredTrials())
    saved = yaml.safe_load((run / "search.yaml").read_text())
    assert (saved["data"]["dataset"], saved["data"]["version"]) == ("blinks", 1)
    assert yaml.safe_load((run / "final.yaml").read_text())["data"] == "blinks-v1"
    resume = {"resume": str(run)}
    # a run measured on other videos (another version of the dataset) is not continued
    saved["data"]["version"] = 99
    (run / "search.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(ConfigError, match="measured on blinks version 99, and this code renders"):
        run_search(resume, tmp_path, trial_function=_never_called, stream=io.StringIO())
    # runs recorded before data.dataset existed were on blinks; replayed, nothing is trained
    del saved["data"]["dataset"], saved["data"]["version"]
    (run / "search.yaml").write_text(yaml.safe_dump(saved))
    # a resume in another environment than the last sitting's says what changed
    sittings = yaml.safe_load((run / "environment.yaml").read_text())
    sittings[-1]["torch"] = "0.0"
    (run / "environment.yaml").write_text(yaml.safe_dump(sittings))
    console = io.StringIO()
    run_search(resume, tmp_path, trial_function=_never_called, stream=console)
    assert "data: blinks-v1, 12 validation videos" in console.getvalue()
    assert f"(torch 0.0 → {torch.__version__}): trials trained again may" in console.getvalue()
    assert len(yaml.safe_load((run / "environment.yaml").read_text())) == 2


@pytest.mark.slow  # the coordinator's halving tests cover promotion and resume quickly
def test_a_halving_search_records_every_rung_and_continues_the_promoted(tmp_path: Path) -> None:
    result = search(tmp_path, "dispatcher=inline", "fidelity=halving", "trial.epochs=4")
    trials = check_run_dir(tmp_path)
    forward = trials[(trials["phase"] == "forward") & (trials["step"] > 0)]
    first, full = forward[forward["budget"] == 0.25], forward[forward["budget"] == 1.0]
    assert first["trial_id"].str.endswith("-r0").all() and (first["epochs"] == 1).all()
    # three candidates a step (SMALL's axes), the best third (one) goes on to all 4 epochs
    assert list(first.groupby("step").size()) == [3] * len(first["step"].unique())
    assert list(full.groupby("step").size()) == [1] * len(full["step"].unique())
    assert (full["epochs"] == 4).all()
    assert list(full["resumed_from"]) == [f"{trial_id}-r0" for trial_id in full["trial_id"]]
    for _, row in full.iterrows():  # the promoted one was its rung's best
        rung = first[first["step"] == row["step"]]
        assert rung.loc[rung["trial_id"] == row["resumed_from"], "top1"].max() == rung["top1"].max()
    path = pd.read_csv(tmp_path / "path.csv")
    assert set(path["trial_id"]) <= set(trials.loc[trials["budget"] == 1.0, "trial_id"])
    assert sorted(p.stem for p in (tmp_path / "weights").glob("*.pt")) == sorted(
        record.trial_id for record in result.path
    )


def zero_division_trial(spec: TrialSpec, job: TrialJob, report: Any = None) -> TrialOutcome:
    """A bug inside every trial."""
    return TrialOutcome("ok", top1=1 / 0)


def test_a_bug_in_the_trials_keeps_its_traceback_and_the_recorded_rows(tmp_path: Path) -> None:
    with pytest.raises(TrialCrash, match="the seed trial failed") as caught:
        search(tmp_path, "dispatcher=inline", trial_function=zero_division_trial)
    assert not isinstance(caught.value, UserError)
    assert "ZeroDivisionError: division by zero" in str(caught.value)
    assert "top1=1 / 0" in str(caught.value)  # the line of the trial that raised
    (row,) = pd.read_parquet(tmp_path / "trials.parquet").to_dict("records")
    assert row["status"] == "failed" and row["error"] == "ZeroDivisionError: division by zero"
    assert "Traceback (most recent call last)" in row["traceback"]


def test_a_bug_exits_1_with_its_traceback_and_a_user_error_2_with_one_line(
    tmp_path: Path,
) -> None:
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from expansion.cli import hydra_command\n"
        "from expansion.search.driver import run_search\n"
        "from expansion.search.records import TrialOutcome\n"
        "def bug(spec, job, report=None):\n"
        "    return TrialOutcome('ok', top1=1 / 0)\n"
        "hydra_command('expansion.run', 'config',\n"
        "    lambda settings, _: run_search(settings, Path('.'), trial_function=bug))()\n"
    )
    runs = []
    for target in ("0.05", "0.001"):  # a bug in every trial; a target below the seed's
        run_dir = tmp_path / target
        command = [sys.executable, "-c", program, *SMALL, "dispatcher=inline"]
        command += [f"target_gflops={target}", f"run_dir={run_dir}"]
        runs.append(subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False))
    bug, user = runs
    assert bug.returncode == 1
    assert "Traceback" in bug.stderr and "ZeroDivisionError: division by zero" in bug.stderr
    assert len(pd.read_parquet(tmp_path / "0.05" / "trials.parquet")) == 1
    assert user.returncode == 2
    assert user.stderr.count("\n") == 1 and "is not above the seed's" in user.stderr


# Two targets on SMALL's blinks (6 classes), spatial replayed twice: 0.03 is passed at step 1 and
# 0.05 at step 2, each contracted; 5 trials, each on one thread (two threads on a busy 2-core
# machine run many times slower).
TWO_TARGETS = ["dispatcher=inline", "target_gflops=[0.05,0.03]", "replay=[spatial,spatial]"]
TWO_TARGETS += ["data.num_train=12", "machine_cpus=1"]


def test_a_search_to_several_targets_writes_its_members_and_resumes_after_a_kill(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    console = io.StringIO()
    reference = tmp_path / "reference"
    run_search(settings(*SMALL, *TWO_TARGETS), reference, stream=console)
    trials = check_run_dir(reference)
    assert list(trials["trial_id"]) == [
        "s00-seed",
        "s01-spatial",
        "s02-contract-spatial-t1",
        "s02-spatial",
        "s03-contract-spatial-t2",
    ]
    expected = pd.read_csv(reference / "members.csv")
    assert list(expected["target_gflops"]) == [0.03, 0.05]  # sorted
    assert list(expected["file"]) == ["member_1.yaml", "member_2.yaml"]
    assert list(expected["trial_id"]) == ["s02-contract-spatial-t1", "s03-contract-spatial-t2"]
    assert (expected["gflops"] <= expected["target_gflops"]).all()
    for row in expected.to_dict("records"):
        assert f"target {row['target_gflops']:.4g}: {row['trial_id']}" in console.getvalue()
        member = yaml.safe_load((reference / row["file"]).read_text())
        assert (member["trial_id"], member["target_gflops"]) == (
            row["trial_id"],
            row["target_gflops"],
        )
        assert describe(["--config", str(reference / row["file"]), "--json"]) == 0
        described = json.loads(capsys.readouterr().out)
        assert (described["frames"], described["crop"]) == (row["frames"], row["crop"])
    final = yaml.safe_load((reference / "final.yaml").read_text())
    assert (final["trial_id"], final["target_gflops"]) == (expected["trial_id"][1], 0.05)

    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "expansion.run", *SMALL, *TWO_TARGETS, f"run_dir={run_dir}"]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not _rows(run_dir) >= 3 and child.poll() is None:  # the first contraction is in
            time.sleep(0.1)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert 3 <= _rows(run_dir) < 5, "the search was not killed part-way"
    assert not (run_dir / "members.csv").exists()
    run_search({"resume": str(run_dir)}, tmp_path, stream=io.StringIO())
    pd.testing.assert_frame_equal(pd.read_csv(run_dir / "members.csv"), expected)
    for name in ("member_1.yaml", "member_2.yaml"):
        assert (run_dir / name).read_text() == (reference / name).read_text()
    for name in ("frontier.png", "path.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


PAPER_GFLOPS = {"XS": 0.605, "S": 1.963, "M": 4.732, "L": 18.37, "XL": 35.84}  # Tables 3, 4


def test_a_dry_run_of_the_paper_path_derives_the_x3d_family(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = settings("experiment=x3d_paper_path", "dry_run=true", f"run_dir={run_dir}")
    stream = io.StringIO()
    shown = dry_run(config, stream)
    assert shown.complete and not run_dir.exists()
    # One trial per step (the seed, 11 steps) and the contractions to S and L.
    assert len(shown.trials) == 14
    classes = run_settings(config, run_dir).search.num_classes  # the built-in data's 16
    for member, (name, paper) in zip(shown.members, PAPER_GFLOPS.items(), strict=True):
        preset = measure_config(X3D_SPACE, PRESETS[name], classes).gflops
        assert member.target_gflops == preset, name
        assert abs(member.record.spec.gflops / paper - 1) < 0.05, (name, member)
        assert abs(member.record.spec.gflops / preset - 1) < 0.05, (name, member)
    assert shown.members[0].record.spec.config == PRESETS["XS"]
    # printed as a table, each member over the nearest preset
    text = stream.getvalue()
    for name, member in zip(PAPER_GFLOPS, shown.members, strict=True):
        assert re.search(
            rf"\n\S+ +{member.record.trial_id} +{member.record.spec.gflops:.4g} ", text
        )
        assert re.search(rf"\n +preset {name} \([+-]\d\.\d%\) ", text), name
    assert "about 14 trials" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="plans GPU trials on a machine without")
def test_the_kinetics_derivation_is_planned_on_a_machine_without_its_gpus(tmp_path: Path) -> None:
    lists = tmp_path / "list.csv"
    lists.write_text("a.mp4 0\n")
    data = [f"data.root={tmp_path}", f"data.train_list={lists}", f"data.val_list={lists}"]
    config = settings("experiment=x3d_family_kinetics", "dry_run=true", *data)
    assert (config["data"]["name"], config["trial"]["epochs"]) == ("kinetics", 150)
    stream = io.StringIO()
    dry_run(config, stream)
    text = stream.getvalue()
    assert "1 trial(s) at a time on 1 GPU per trial (none on this machine)" in text
    # 12 forward steps of six candidates from X2D past XL's 35.8 GFLOPs (1.95× a step), a
    # contraction per preset but XS: step 5 (0.583 GFLOPs) is within target_tolerance of it
    assert "about 77 trials" in text and text.count("contr.") == 4


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # trial=short: 4 epochs, 2 inherited, a 0.5-epoch warm-up; a rung ends on a whole epoch
        (["fidelity=halving"], "rungs end after 1, 4 of 4 epochs from scratch"),
        (
            ["fidelity=halving", "inherit=true"],
            "rungs end after 1, 4 of 4 epochs from scratch; 1, 2 of 2 epochs inheriting",
        ),
        (
            ["fidelity=halving", "inherit=true", "rungs=[0.25,0.5,1]"],
            "1, 2, 4 of 4 epochs from scratch; 1, 1, 2 of 2 epochs inheriting; rungs inheriting "
            "that end on the same epoch only evaluate again",
        ),
        (
            ["fidelity=halving", "trial.warmup_epochs=1"],
            "the first rung from scratch ends inside the 1-epoch warm-up",
        ),
    ],
)
def test_a_halving_plan_says_where_its_rungs_end(overrides: list[str], expected: str) -> None:
    stream = io.StringIO()
    dry_run(settings("experiment=benchmark", "dry_run=true", *overrides), stream)
    assert expected in stream.getvalue()


def test_a_dry_run_from_the_command_line_prints_the_plan_and_writes_nothing(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    done = expansion_run("dry_run=true", "dry_run_estimate=true", f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr
    assert re.search(r"about 8 trials, \d+m\d\ds \(estimate\)", done.stdout)
    assert "s00-seed" in done.stdout and not run_dir.exists()
    with pytest.raises(ConfigError, match="does not take resume="):
        dry_run(settings(*SMALL, "dry_run=true", f"resume={tmp_path}"), io.StringIO())


def test_an_unreachable_latency_target_exits_2_with_one_line_before_any_trial(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    result = expansion_run("dispatcher=inline", "target_latency_ms=0.001", f"run_dir={run_dir}")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert re.fullmatch(
        r"expansion\.run: error: target_latency_ms=0\.001 is not above the seed's measured "
        r"[\d.]+ ms: no model of the search fits it",
        line,
    )
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["target_latency_ms=-3"], "target_latency_ms must be positive and finite, got -3.0"),
        (["target_latency_ms=nan"], "target_latency_ms must be positive and finite, got nan"),
        (["target_latency_ms=fast"], "target_latency_ms: expected a number, got 'fast'"),
        (["target_gflops=[0.03,0.05]", "target_latency_ms=50"], "one budget"),
        (["target_memory_mb=500"], "target_memory_mb needs trials on a GPU"),
        (["target_gflops=null"], "target_gflops is required"),
    ],
)
def test_bad_hardware_targets_fail_before_any_trial(
    tmp_path: Path, overrides: list[str], message: str
) -> None:
    if "target_memory_mb=500" in overrides and torch.cuda.is_available():
        pytest.skip("trials on this machine run on its GPU, where memory is measured")
    config = settings(*SMALL, "dispatcher=inline", *overrides)
    with pytest.raises(UserError, match=message):
        run_search(config, tmp_path, trial_function=_never_called, stream=io.StringIO())
    assert not any(tmp_path.iterdir())


CLASSES = 6  # blinks's


def fake_ms(config: X3DConfig) -> float:
    """A deterministic device: milliseconds that grow with parameters, frames and pixels."""
    model = X3D_SPACE.build(config, CLASSES)
    params = sum(parameter.numel() for parameter in model.parameters())
    return 1e-5 * params * config.frames * (config.crop / 112) ** 2


def fake_measure_latency(model: Any, view: Any, device: Any, repeats: int, warmup: int) -> Latency:
    milliseconds = fake_ms(model.config)
    return Latency(milliseconds, 0.9 * milliseconds, 1.2 * milliseconds, repeats)


def test_a_search_to_a_latency_target_contracts_to_it_and_resumes_without_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hardware, "measure_latency", fake_measure_latency)
    target = 1.5 * fake_ms(X3D_SPACE.seed)  # every step-1 candidate is about twice the seed's
    overrides = [*SMALL, "dispatcher=inline", "data.num_train=12", "machine_cpus=1"]
    overrides += ["target_gflops=null", f"target_latency_ms={target}"]
    console = io.StringIO()
    result = run_search(settings(*overrides), tmp_path, stream=console)
    trials = check_run_dir(tmp_path)
    assert list(trials["phase"]) == ["forward"] * 4 + ["contract"]
    overshoot, contracted = result.path[-2:]
    assert contracted is result.final and fake_ms(overshoot.spec.config) > target
    final_ms = fake_ms(contracted.spec.config)
    # the largest model within the target along the axis, by brute force over its factors
    apply = AXES[contracted.spec.axis].apply
    grid = [fake_ms(apply(overshoot.spec.config, i / 40)) for i in range(1, 40)]
    assert max(ms for ms in grid if ms <= target) <= final_ms <= target
    final = yaml.safe_load((tmp_path / "final.yaml").read_text())
    assert final["target_gflops"] is None and final["target_latency_ms"] == target
    assert final["latency_ms"] == final_ms
    assert final["latency_ms_share"] == final_ms / target
    share = f"{final_ms / target:.1%}"
    assert f"latency {final_ms:.4g} ms = {share} of the {target:g} ms target" in console.getvalue()
    recorded = pd.read_csv(tmp_path / "hardware.csv")
    assert set(recorded["figure"]) == {"latency_ms"} and set(recorded["threads"]) == {1}
    assert len(recorded) == len(recorded.drop_duplicates(list(X3D_SPACE.to_dict(X3D_SPACE.seed))))

    # a resume after the contraction was lost trains it again, from the recorded figures alone
    def never(*args: Any) -> Latency:
        raise AssertionError("a resume measured a configuration again")

    monkeypatch.setattr(hardware, "measure_latency", never)
    ResultsStore(tmp_path, X3D_SPACE).retire([contracted.trial_id])
    resumed = run_search({"resume": str(tmp_path)}, tmp_path, stream=io.StringIO())
    assert resumed.final.spec == contracted.spec
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "hardware.csv"), recorded)
