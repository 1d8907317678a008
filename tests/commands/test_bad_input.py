"""Every command: a bad input ends in one line on stderr and exit code 2, writing nothing."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from hydra_configs import compose_config

from expansion.cli import user_errors_as_one_line
from expansion.search.driver import run_search
from expansion.training.runtime import pick_device

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["trial=smoke", "data=blinks", "data.num_train=24", "data.num_val=12", "target_gflops=0.05"]
KINETICS_NOWHERE = ["data=kinetics", "data.root=/no", "data.train_list=/t", "data.val_list=/v"]


def one_line_exit_2(command: str, *args: str) -> str:
    """Run `python -m expansion.<command> args`; assert one line and exit 2; the line."""
    done = subprocess.run(
        [sys.executable, "-m", f"expansion.{command}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"expansion.{command}: error: ") or done.stderr.startswith(
        f"python -m expansion.{command}: error: "
    ), done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    config = compose_config("config", *SMALL, "dispatcher=inline", "max_steps=1", "axes=[depth]")
    run_search(config, run_dir, stream=io.StringIO())
    return run_dir


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trial=smok"], "trial"),
        (["target_gflop=1"], "target_gflop"),
        (["target_gflops=abc"], "target_gflops: expected a number or a preset (X2D, XS"),
        (["target_gflops=inf"], "target_gflops must be positive and finite, got inf"),
        ([*SMALL, "trial.cpus=64"], "trial.cpus=64 but this machine has"),
        ([*SMALL, "data.num_train=abc"], "data.num_train: expected a whole number, got 'abc'"),
        ([*SMALL, "axes=spatial", "selection_margin=x"], "selection_margin: expected a number"),
        (
            ["target_gflops=0.05", *KINETICS_NOWHERE],
            "data root /no does not exist",
        ),
    ],
    ids=["hydra-group", "hydra-key", "not-a-number", "infinite", "cpus", "count", "margin", "root"],
)
def test_search_settings(tmp_path: Path, args: list[str], message: str) -> None:
    assert message in one_line_exit_2("run", *args, f"run_dir={tmp_path / 'run'}")
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_gpus_without_cuda(tmp_path: Path) -> None:
    line = one_line_exit_2("run", *SMALL, "trial.gpus=1", f"run_dir={tmp_path / 'run'}")
    assert "trial.gpus=1 but this machine has 0 GPUs" in line
    with pytest.raises(Exception, match="CUDA is not available"):
        pick_device(1.0)


def test_folders_that_cannot_hold_a_run(tmp_path: Path, finished_run: Path) -> None:
    (tmp_path / "file").write_text("")
    before = {path: path.stat().st_mtime_ns for path in finished_run.rglob("*")}
    assert "is a file" in one_line_exit_2("run", *SMALL, f"run_dir={tmp_path / 'file'}")
    assert "already holds a search run" in one_line_exit_2("run", *SMALL, f"run_dir={finished_run}")
    assert {path: path.stat().st_mtime_ns for path in finished_run.rglob("*")} == before
    assert not (finished_run / ".hydra").exists()
    assert "cannot resume" in one_line_exit_2("run", f"resume={tmp_path / 'missing'}")
    assert not (tmp_path / "missing").exists()
    line = one_line_exit_2("train", "arch=XS", f"out_dir={tmp_path / 'file'}")
    assert "is a file" in line


def test_damaged_tables(tmp_path: Path, finished_run: Path) -> None:
    run_dir = tmp_path / "damaged"
    run_dir.mkdir()
    for name in ("search.yaml", "trials.parquet", "trials.csv"):
        (run_dir / name).write_bytes((finished_run / name).read_bytes())
    (run_dir / "trials.parquet").write_bytes(b"PAR1 torn")
    stream = io.StringIO()
    # A resume reads the CSV twin, says so and rebuilds the Parquet table from it.
    run_search(compose_config("config", f"resume={run_dir}"), run_dir, stream=stream)
    assert f"{run_dir / 'trials.parquet'} was damaged" in stream.getvalue()
    assert pd.read_parquet(run_dir / "trials.parquet").equals(
        pd.read_parquet(finished_run / "trials.parquet")
    )
    (run_dir / "trials.parquet").write_bytes(b"PAR1 torn")
    (run_dir / "trials.csv").unlink()
    line = one_line_exit_2("plot", str(run_dir))
    assert "trials.parquet is damaged" in line and "no trials.csv" in line
    line = one_line_exit_2("run", f"resume={run_dir}")
    assert "trials.parquet is damaged" in line


def test_outputs_that_cannot_be_written(tmp_path: Path, finished_run: Path) -> None:
    (tmp_path / "file").write_text("")
    line = one_line_exit_2("plot", str(finished_run), "--out", str(tmp_path / "file" / "figures"))
    assert "Not a directory" in line or "File exists" in line
    line = one_line_exit_2(
        "evaluate", "checkpoint=/no/such.pt", f"out={tmp_path / 'file' / 'scores.csv'}"
    )
    assert "is not a writable folder" in line


@pytest.mark.parametrize(
    ("code", "shown"),
    [(errno.ENOSPC, True), (errno.EACCES, True), (errno.EROFS, True), (errno.ENOENT, False)],
    ids=["disk-full", "permission", "read-only", "missing-file-is-a-bug"],
)
def test_file_system_refusals_are_one_line(
    code: int, shown: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    error = OSError(code, os.strerror(code), "/runs/x/trials.parquet")
    if not shown:
        with pytest.raises(OSError), user_errors_as_one_line("expansion.run"):
            raise error
        return
    with pytest.raises(SystemExit) as exit_info, user_errors_as_one_line("expansion.run"):
        raise error
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"expansion.run: error: {os.strerror(code)}: /runs/x/trials.parquet\n"
    )
