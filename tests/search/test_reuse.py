"""`reuse=`: a search takes the trials an earlier search of the same training settings recorded."""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from hydra_configs import SMALL_SEARCH, compose_config
from scored_trials import ScoredTrials

from expansion import compare
from expansion.errors import ConfigError
from expansion.results.run_table import load_run
from expansion.search.driver import run_search
from expansion.training.trial_weights import weights_path
from search_spaces.x3d import X3DConfig

# Two spatial steps, replayed: forward trials s00-seed, s01-spatial, s02-spatial.
SETTINGS = [*SMALL_SEARCH, "dispatcher=inline", "replay=[spatial,spatial]", "machine_cpus=1"]


def search(run_dir: Path, trials: ScoredTrials, *overrides: str) -> str:
    console = io.StringIO()
    config = compose_config("config", *SETTINGS, *overrides)
    run_search(config, run_dir, trial_function=trials, stream=console)
    return console.getvalue()


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScoredTrials]:
    """A search to 0.05 GFLOPs, and what it trained."""
    run_dir, trials = tmp_path_factory.mktemp("first"), ScoredTrials()
    search(run_dir, trials, "target_gflops=0.05")
    return run_dir, trials


def test_a_search_to_new_targets_trains_only_the_trials_it_does_not_share(
    tmp_path: Path, first: tuple[Path, ScoredTrials]
) -> None:
    source, trained_first = first
    reusing, fresh = ScoredTrials(), ScoredTrials()
    targets = "target_gflops=[0.03,0.05]"
    console = search(tmp_path / "reusing", reusing, targets, f"reuse={source}")
    search(tmp_path / "fresh", fresh, targets)

    # the same search as one that trained everything, at the cost of what the first lacked
    for name in ("path.csv", "members.csv", "final.yaml"):
        assert (tmp_path / "reusing" / name).read_text() == (tmp_path / "fresh" / name).read_text()
    # only the 0.03 target's contraction is new: the 0.05 one (…-t2) is the first search's
    # contraction again, the same architecture trained from scratch with the same seed
    assert reusing.ran == ["s02-contract-spatial-t1"]
    assert trained_first.ran[-1] == "s03-contract-spatial"

    table = pd.read_csv(tmp_path / "reusing" / "trials.csv").set_index("trial_id")
    recorded = pd.read_csv(source / "trials.csv").set_index("trial_id")
    reused = table[table["reused_from"].notna()]
    assert sorted(reused.index) == sorted(set(fresh.ran) - set(reusing.ran))
    assert set(reused["reused_from"]) == {str(source)}
    sources = [{"s03-contract-spatial-t2": "s03-contract-spatial"}.get(t, t) for t in reused.index]
    assert reused["top1"].tolist() == recorded.loc[sources, "top1"].tolist()
    assert table.loc[reusing.ran, "reused_from"].isna().all()
    assert f"{len(reused)} trials reused from {source}" in console
    report = compare.report([load_run(tmp_path / "reusing")])
    assert f"reusing: {len(reusing.ran)} trials" in report
    assert f"; {len(reused)} more trials reused from other runs" in report
    trial_lines = [line for line in console.splitlines() if line.startswith("step  1 forward")]
    assert trial_lines and trial_lines[0].split("top-1")[1].split()[1] == "reused"


@pytest.mark.parametrize(
    ("lost", "trained"),
    [
        ("s02-spatial", ["s03-contract-spatial"]),  # the overshoot: nothing starts from it
        ("s01-spatial", ["s01-spatial", "s03-contract-spatial"]),  # the contraction's start
    ],
)
def test_weights_are_copied_with_the_trials_and_lost_ones_trained_only_when_needed(
    tmp_path: Path, lost: str, trained: list[str]
) -> None:
    """A source keeps only some weights (a finished search its path's): a trial without them is
    still taken, and trained again only if a new trial starts from it (here the contraction,
    which starts from the last model below the target, s01-spatial)."""
    first, reusing = ScoredTrials(), ScoredTrials()
    search(tmp_path / "first", first, "target_gflops=0.05", "inherit=true")
    weights_path(tmp_path / "first" / "weights", lost).unlink()
    console = search(
        tmp_path / "reusing", reusing, "target_gflops=0.05", "inherit=true",
        "contract_from=below", f"reuse={tmp_path / 'first'}",
    )  # fmt: skip

    assert reusing.ran == trained
    assert ("restore: s01-spatial trained again" in console) == (lost == "s01-spatial")
    copied = weights_path(tmp_path / "reusing" / "weights", "s00-seed")
    assert copied.read_bytes() == b"s00-seed"
    table = pd.read_csv(tmp_path / "reusing" / "trials.csv").set_index("trial_id")
    assert table.loc[lost, "reused_from"] == str(tmp_path / "first")  # the recorded row stays


def test_contracting_from_below_takes_the_forward_trials_and_trains_the_contraction(
    tmp_path: Path,
) -> None:
    overshoot, below = ScoredTrials(), ScoredTrials()
    search(tmp_path / "overshoot", overshoot, "target_gflops=0.05", "inherit=true")
    search(
        tmp_path / "below", below, "target_gflops=0.05", "inherit=true", "contract_from=below",
        f"reuse={tmp_path / 'overshoot'}",
    )  # fmt: skip

    contraction = "s03-contract-spatial"
    assert overshoot.ran[-1] == contraction and below.ran == [contraction]
    inherited = {
        name: pd.read_csv(tmp_path / name / "trials.csv").set_index("trial_id")["inherited_from"]
        for name in ("overshoot", "below")
    }
    assert (inherited["overshoot"][contraction], inherited["below"][contraction]) == (
        "s02-spatial",
        "s01-spatial",
    )


def test_confirmations_are_taken_from_a_search_of_their_seed(tmp_path: Path) -> None:
    """A from-scratch trial is its architecture and trial seed: a seed-0 search confirming with
    seed 1 takes the seed-1 search's candidates of the same architecture, whatever their ids."""
    other_seed, reusing, fresh = ScoredTrials(), ScoredTrials(), ScoredTrials()
    choose = ["target_gflops=0.05", "replay=[]"]  # every axis's candidate, each step chosen
    search(tmp_path / "seed1", other_seed, *choose, "seed=1")
    confirming = [*choose, "confirm_seeds=1", "confirm_margin=0.5"]
    console = search(tmp_path / "reusing", reusing, *confirming, f"reuse={tmp_path / 'seed1'}")
    search(tmp_path / "fresh", fresh, *confirming)

    assert (tmp_path / "reusing" / "path.csv").read_text() == (
        tmp_path / "fresh" / "path.csv"
    ).read_text()
    confirmations = {trial for trial in fresh.ran if trial.endswith("-seed1")}
    taken = {trial for trial in confirmations if trial.removesuffix("-seed1") in other_seed.ran}
    assert taken and reusing.ran == [trial for trial in fresh.ran if trial not in taken]
    table = pd.read_csv(tmp_path / "reusing" / "trials.csv").set_index("trial_id")
    recorded = pd.read_csv(tmp_path / "seed1" / "trials.csv").set_index("trial_id")
    assert set(table.index[table["reused_from"].notna()]) == taken
    for trial in taken:
        assert table.loc[trial, "top1"] == recorded.loc[trial.removesuffix("-seed1"), "top1"]
    # one per distinct training: a contraction may rebuild a model its search trained already
    training = [field.name for field in fields(X3DConfig)] + ["budget"]
    distinct = len(recorded[training].drop_duplicates())
    assert f"reuse: {distinct} trials of 1 run(s) to take" in console
    lines = console.splitlines()
    confirmed = [line for line in lines if " reused " in line and line.endswith("  seed +1")]
    assert len(confirmed) == len(taken)


@pytest.mark.parametrize(
    ("override", "named"),
    [("trial.epochs=2", "trial schedule"), ("inherit=true", "inherit")],
)
def test_a_run_trained_otherwise_is_refused_in_one_line(
    tmp_path: Path, first: tuple[Path, ScoredTrials], override: str, named: str
) -> None:
    reusing = ScoredTrials()
    with pytest.raises(ConfigError, match=f"trained with another {named}, so"):
        search(tmp_path / "other", reusing, override, f"reuse={first[0]}")
    assert reusing.ran == [] and not (tmp_path / "other" / "trials.csv").exists()


def test_reuse_needs_a_search_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no search\.yaml there"):
        search(tmp_path / "run", ScoredTrials(), f"reuse={tmp_path / 'nothing'}")
