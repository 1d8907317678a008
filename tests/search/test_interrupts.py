"""Interrupted, killed and resumed searches end as the uninterrupted one; one search per folder;
failures from outside a trial are trained again on resume."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hydra_configs import SMALL_SEARCH, compose_config

from expansion.errors import ConfigError, DataError, SearchError
from expansion.search.driver import run_search
from expansion.search.records import TrialOutcome, TrialSpec
from expansion.training.trial import TrialJob, run_trial

ROOT = Path(__file__).resolve().parents[2]
SMALL = SMALL_SEARCH
COMPARED = ["trial_id", "status", "top1", "loss", "threads", "gflops"]
REFERENCE_DIR: list[str] = []  # where the module's reference search ran


def rows(run_dir: Path) -> int:
    try:
        return len(pd.read_parquet(run_dir / "trials.parquet"))
    except (OSError, ValueError):
        return 0


def raylets() -> set[str]:
    found = subprocess.run(["pgrep", "-f", "raylet"], capture_output=True, text=True, check=False)
    return set(found.stdout.split())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The uninterrupted search, in this process: the outcome every other run must equal."""
    run_dir = tmp_path_factory.mktemp("reference")
    config = compose_config("config", *SMALL, "dispatcher=inline")
    run_search(config, run_dir, stream=io.StringIO())
    REFERENCE_DIR[:] = [str(run_dir)]
    return pd.read_parquet(run_dir / "trials.parquet")


def start(run_dir: Path, *overrides: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "expansion.run", *SMALL, f"run_dir={run_dir}", *overrides]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def stop_after(child: subprocess.Popen[str], run_dir: Path, recorded: int, sign: int) -> str:
    """Send `sign` once `recorded` trials are in the table; the child's stderr."""
    try:
        while rows(run_dir) < recorded and child.poll() is None:
            time.sleep(0.05)
        assert child.poll() is None, "the search ended before it could be stopped"
        os.kill(child.pid, sign)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    return stderr


def resume(run_dir: Path, *overrides: str) -> pd.DataFrame:
    config = compose_config("config", f"resume={run_dir}", *overrides)
    keys = [override.split("=")[0].split(".")[0] for override in overrides]
    run_search(config, run_dir, stream=io.StringIO(), overrides=["resume", *keys])
    return pd.read_parquet(run_dir / "trials.parquet")


def assert_same_outcome(trials: pd.DataFrame, reference: pd.DataFrame, run_dir: Path) -> None:
    """Same trials (Ray may finish a step's trials in any order), same top-1 to the last digit,
    same final model and path."""

    def table(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[COMPARED].sort_values("trial_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(table(trials), table(reference))
    final = yaml.safe_load((run_dir / "final.yaml").read_text())
    expected = yaml.safe_load((Path(REFERENCE_DIR[0]) / "final.yaml").read_text())
    assert final == expected
    path = pd.read_csv(run_dir / "path.csv")
    assert path.equals(pd.read_csv(Path(REFERENCE_DIR[0]) / "path.csv"))


@pytest.mark.parametrize(
    ("sign", "recorded", "code"),
    [(signal.SIGINT, 2, 130), pytest.param(signal.SIGTERM, 5, 143, marks=pytest.mark.slow)],
    ids=["sigint-step-1", "sigterm-step-2"],
)
def test_an_interrupted_inline_search_resumes_to_the_same_outcome(
    tmp_path: Path, reference: pd.DataFrame, sign: int, recorded: int, code: int
) -> None:
    stderr = stop_after(start(tmp_path, "dispatcher=inline"), tmp_path, recorded, sign)
    name = signal.Signals(sign).name
    assert stderr.strip().splitlines()[-1] == (
        f"expansion.run: interrupted ({name}); continue with resume={tmp_path}"
    )
    assert "Traceback" not in stderr
    interrupted = pd.read_parquet(tmp_path / "trials.parquet")
    assert set(interrupted["status"]) == {"ok"}, "an interrupted trial was recorded"
    assert_same_outcome(resume(tmp_path), reference, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("recorded", [1, 4, 7, 8], ids=["seed", "step-1", "step-2", "contraction"])
@pytest.mark.parametrize("sign", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_inline_search_stopped_at_every_moment_resumes_alike(
    tmp_path: Path, reference: pd.DataFrame, sign: int, recorded: int
) -> None:
    stop_after(start(tmp_path, "dispatcher=inline"), tmp_path, recorded, sign)
    assert_same_outcome(resume(tmp_path), reference, tmp_path)


def test_ctrl_c_during_a_ray_step_records_nothing_and_resumes_alike(
    tmp_path: Path, reference: pd.DataFrame
) -> None:
    before = raylets()
    stderr = stop_after(start(tmp_path, "dispatcher=ray"), tmp_path, 2, signal.SIGINT)
    assert stderr.strip().splitlines()[-1].startswith("expansion.run: interrupted (SIGINT)")
    interrupted = pd.read_parquet(tmp_path / "trials.parquet")
    assert set(interrupted["status"]) == {"ok"}, "an interrupted trial was recorded"
    assert raylets() <= before, "the interrupted search left its Ray processes behind"
    # The saved dispatcher (ray) is kept; threads are fixed by the settings, so the resumed
    # search trains exactly as the inline reference did.
    assert_same_outcome(resume(tmp_path), reference, tmp_path)


def test_a_plain_resume_keeps_the_saved_dispatcher_and_names_ignored_overrides(
    tmp_path: Path,
) -> None:
    config = compose_config("config", *SMALL, "dispatcher=inline", "max_steps=1")
    run_search(config, tmp_path, stream=io.StringIO())
    (tmp_path / "final.yaml").unlink()  # as if killed before the end
    stream = io.StringIO()
    # What the command line composes for `resume=DIR target_gflops=0.1`: every default, the
    # ray dispatcher included, and the one override.
    composed = compose_config("config", f"resume={tmp_path}", "target_gflops=0.1")
    run_search(composed, tmp_path, stream=stream, overrides=["resume", "target_gflops"])
    assert "resume: ignored target_gflops" in stream.getvalue()
    saved = yaml.safe_load((tmp_path / "search.yaml").read_text())
    assert saved["dispatcher"]["name"] == "inline" and saved["target_gflops"] == 0.05
    assert isinstance(saved["machine_cpus"], int)
    final = yaml.safe_load((tmp_path / "final.yaml").read_text())
    assert final["config"]["stride"] == 32 and isinstance(final["config"]["stride"], int)


def test_a_second_search_on_a_held_folder_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    config = compose_config("config", *SMALL, "dispatcher=inline", "max_steps=1")
    run_search(config, tmp_path, stream=io.StringIO())
    (tmp_path / "final.yaml").unlink()  # as if killed before the end
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
        resumed = compose_config("config", f"resume={tmp_path}")
        with pytest.raises(ConfigError, match=rf"in use by process {holder.pid}: one search"):
            run_search(resumed, tmp_path, stream=io.StringIO(), overrides=["resume"])
        assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == before
    finally:
        holder.kill()  # SIGKILL: the operating system releases the lock
        holder.wait()
    run_search(resumed, tmp_path, stream=io.StringIO(), overrides=["resume"])
    assert (tmp_path / "final.yaml").exists()


HOLD_LOCK = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from expansion.results.run_folder import RunLock\n"
    "lock = RunLock(Path(sys.argv[1])).__enter__()\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n"
)


def failing_once(flag: Path, error: BaseException):
    """A trial function that raises `error` in the seed trial while `flag` exists."""

    def trial(spec: TrialSpec, job: TrialJob, report: Any = None) -> TrialOutcome:
        if spec.step == 0 and flag.exists():
            raise error
        return run_trial(spec, job, report)

    return trial


def test_a_trial_that_met_unreadable_data_is_trained_again_on_resume(tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    flag.touch()
    trial = failing_once(flag, DataError("12 of 24 videos are unreadable"))
    config = compose_config("config", *SMALL, "dispatcher=inline")
    run_dir = tmp_path / "run"
    with pytest.raises(SearchError, match=r"the seed trial failed \(DataError: 12 of 24"):
        run_search(config, run_dir, trial_function=trial, stream=io.StringIO())
    flag.unlink()  # the list is fixed
    stream = io.StringIO()
    result = run_search({"resume": str(run_dir)}, run_dir, trial_function=trial, stream=stream)
    assert "training again 1 trial(s) that failed before (s00-seed)" in stream.getvalue()
    assert result.final.outcome.status == "ok"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert trials["trial_id"].is_unique and set(trials["status"]) == {"ok"}
    attempts = pd.read_csv(run_dir / "retired_trials.csv")
    assert list(attempts["trial_id"]) == ["s00-seed"] and list(attempts["failure"]) == ["data"]


def test_a_diverged_trial_is_kept_unless_retry_failed(tmp_path: Path) -> None:
    config = compose_config("config", *SMALL, "dispatcher=inline", "trial.base_lr=1e30")
    with pytest.raises(SearchError, match=r"loss became .*nothing to expand"):
        run_search(config, tmp_path, stream=io.StringIO())
    with pytest.raises(SearchError, match="nothing to expand"):
        run_search({"resume": str(tmp_path)}, tmp_path, stream=io.StringIO())
    assert not (tmp_path / "retired_trials.csv").exists()
    stream = io.StringIO()
    with pytest.raises(SearchError, match="nothing to expand"):
        run_search({"resume": str(tmp_path), "retry_failed": True}, tmp_path, stream=stream)
    assert "training again 1 trial(s)" in stream.getvalue()


def killed_once(spec: TrialSpec, job: TrialJob, report: Any = None) -> TrialOutcome:
    """Kills its own worker (SIGKILL) in the step-1 depth trial while the flag file exists."""
    flag = Path(os.environ["EXPANSION_TEST_KILL_FLAG"])
    if spec.trial_id == "s01-depth" and flag.exists():
        flag.unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    return run_trial(spec, job, report)


@pytest.mark.slow
def test_a_trial_whose_ray_worker_was_killed_is_trained_again_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    flag = tmp_path / "kill"
    flag.touch()
    monkeypatch.setenv("EXPANSION_TEST_KILL_FLAG", str(flag))
    config = compose_config("config", *SMALL, "dispatcher=ray", "trial.max_failures=0")
    run_dir = tmp_path / "run"
    run_search(config, run_dir, trial_function=killed_once, stream=io.StringIO())
    killed = pd.read_parquet(run_dir / "trials.parquet").set_index("trial_id").loc["s01-depth"]
    assert (killed["status"], killed["failure"]) == ("failed", "lost")
    (run_dir / "final.yaml").unlink()
    stream = io.StringIO()
    run_search({"resume": str(run_dir)}, run_dir, trial_function=killed_once, stream=stream)
    assert "training again 1 trial(s) that failed before (s01-depth)" in stream.getvalue()
    trials = pd.read_parquet(run_dir / "trials.parquet").set_index("trial_id")
    assert trials.loc["s01-depth", "status"] == "ok" and trials.index.is_unique
    retired = pd.read_csv(run_dir / "retired_trials.csv")
    assert "s01-depth" in set(retired["trial_id"]) and set(retired["step"]) >= {1, 2}
