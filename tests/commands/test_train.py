"""`expansion.train`: a tiny run lowers the loss and writes its files, resumes after SIGKILL as
if never stopped, runs on 2 Ray Train workers; precise BN; bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hydra_configs import compose_config
from torch import nn

from expansion.data.synthetic import scales
from expansion.errors import UserError
from expansion.results.architecture import save_architecture
from expansion.results.checkpoints import load_checkpoint, save_checkpoint
from expansion.train import train, training_plan
from expansion.training.fit import latest_checkpoint
from expansion.training.loaders import shard_order
from expansion.training.precise_bn import recompute_bn_stats
from search_spaces.x3d import PRESETS, X3D_SPACE, X3DConfig, build_x3d
from search_spaces.x3d.mmaction2 import save_mmaction2

ROOT = Path(__file__).resolve().parents[2]
TINY = X3DConfig(
    frames=2, stride=6, crop=48, width_factor=1.0, bottleneck_factor=1.0, depth_factor=1.0
)
DATA = [
    "data.num_train=8",
    "data.num_val=4",
    "+data.height=64",
    "+data.width=80",
    "+data.num_frames=24",
]
EPOCHS = 5


def settings(*overrides: str) -> dict[str, Any]:
    return compose_config("train", *overrides)


@pytest.fixture(scope="module")
def arch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("arch") / "tiny.yaml"
    save_architecture(path, X3D_SPACE, TINY)
    return path


def run_args(arch: Path, out_dir: Path) -> list[str]:
    return [f"arch={arch}", "recipe=tiny", f"recipe.epochs={EPOCHS}", f"out_dir={out_dir}", *DATA]


def metrics(out_dir: Path) -> list[dict[str, str]]:
    with (out_dir / "metrics.csv").open() as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def uninterrupted(arch: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("uninterrupted")
    train(settings(*run_args(arch, out_dir)), io.StringIO())
    return out_dir


def test_training_lowers_the_loss_and_writes_its_files(uninterrupted: Path) -> None:
    rows = metrics(uninterrupted)
    assert [int(row["epoch"]) for row in rows] == list(range(1, EPOCHS + 1))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    kept = sorted(path.name for path in (uninterrupted / "checkpoints").iterdir())
    assert kept == [f"epoch_{EPOCHS - 1:04d}.pt", f"epoch_{EPOCHS:04d}.pt"]  # keep_checkpoints: 2
    last = load_checkpoint(uninterrupted / "checkpoints" / kept[-1], X3D_SPACE)
    assert last.config == TINY and last.extra["epoch"] == EPOCHS
    assert last.extra["optimizer"]["state"]  # momentum buffers travel with the weights
    final = json.loads((uninterrupted / "final.json").read_text())
    assert final["precise_bn_batches"] == 2 and final["views"] == "2x1"
    assert load_checkpoint(uninterrupted / "final.pt", X3D_SPACE).extra["metrics"] == final
    assert list((uninterrupted / "tensorboard").glob("events.out.tfevents.*"))
    sittings = yaml.safe_load((uninterrupted / "environment.yaml").read_text())
    assert [sitting["torch"] for sitting in sittings] == [torch.__version__]


def test_resume_after_sigkill_continues_exactly(
    arch: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "expansion.train", *run_args(arch, tmp_path)]
    with (tmp_path / "log.txt").open("w") as log:
        child = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
        while latest_checkpoint(tmp_path) is None and child.poll() is None:
            time.sleep(0.01)
        child.kill()
        child.wait()
    assert child.returncode == -9, (tmp_path / "log.txt").read_text()
    killed_after = int(load_checkpoint(latest_checkpoint(tmp_path), X3D_SPACE).extra["epoch"])  # type: ignore[arg-type]
    assert killed_after < EPOCHS and not (tmp_path / "final.json").exists()

    stream = io.StringIO()
    final = train(settings(f"resume={tmp_path}"), stream)
    assert f"resuming after epoch {killed_after} of {EPOCHS}" in stream.getvalue()
    assert f"epoch {killed_after}/" not in stream.getvalue()  # no epoch trained twice
    resumed, reference = metrics(tmp_path), metrics(uninterrupted)
    assert [row["epoch"] for row in resumed] == [str(e) for e in range(1, EPOCHS + 1)]
    # Randomness is a function of (seed, epoch): the resumed run is the uninterrupted one.
    assert [row["train_loss"] for row in resumed] == [row["train_loss"] for row in reference]
    assert final == json.loads((uninterrupted / "final.json").read_text())
    ours, theirs = (
        load_checkpoint(d / "final.pt", X3D_SPACE).model.state_dict()
        for d in (tmp_path, uninterrupted)
    )
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)
    again = io.StringIO()
    assert train(settings(f"resume={tmp_path}"), again) == final
    assert "has finished training" in again.getvalue()


@pytest.mark.slow
def test_two_ray_train_workers(arch: Path, tmp_path: Path) -> None:
    import ray

    final = train(
        settings(*run_args(arch, tmp_path), "recipe.epochs=2", "workers=2"), io.StringIO()
    )
    assert not ray.is_initialized()
    assert [row["epoch"] for row in metrics(tmp_path)] == ["1", "2"]
    assert final == json.loads((tmp_path / "final.json").read_text())
    assert load_checkpoint(latest_checkpoint(tmp_path), X3D_SPACE).extra["epoch"] == 2  # type: ignore[arg-type]


def test_workers_split_the_same_global_batches() -> None:
    one = shard_order(10, 4, 0, 1, seed=3, epoch=2)
    halves = [shard_order(10, 4, rank, 2, seed=3, epoch=2) for rank in (0, 1)]
    assert len(one) == 8 and len(set(one)) == 8
    for step in range(2):
        global_batch = one[4 * step : 4 * step + 4]
        assert (
            halves[0][2 * step : 2 * step + 2] + halves[1][2 * step : 2 * step + 2] == global_batch
        )


def test_precise_bn_sets_running_stats_to_the_batch_average() -> None:
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4, momentum=0.1)).eval()
    batches = [
        (
            torch.randn(2, 3, 2, 5, 5, generator=generator) * (k + 1) + k,
            torch.zeros(2),
            torch.zeros(2),
        )
        for k in range(5)
    ]
    used = recompute_bn_stats(model, iter(batches), 3, torch.device("cpu"))
    assert used == 3
    with torch.no_grad():
        features = [model[0](clips).transpose(0, 1).flatten(1) for clips, _, _ in batches[:3]]
    mean = torch.stack([f.mean(1) for f in features]).mean(0)
    variance = torch.stack([f.var(1) for f in features]).mean(0)
    bn = model[1]
    assert torch.allclose(bn.running_mean, mean, atol=1e-5)
    assert torch.allclose(bn.running_var, variance, atol=1e-4)
    assert bn.momentum == 0.1 and not model.training


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["checkpoint={other}"], r"does not fit X3D \(width 1.0"),
        (["checkpoint={corrupt}"], r"not a readable PyTorch checkpoint"),
        (["recipe.batch_size=3", "workers=2"], r"batch_size 3 does not split over 2 workers"),
        (["arch={bad}"], r"X3DConfig.width_factor must be positive"),
    ],
)
def test_bad_input_is_one_line_value_error(
    arch: Path, tmp_path: Path, overrides: list[str], message: str
) -> None:
    other = build_x3d(PRESETS["XS"], scales.NUM_CLASSES)  # the data's classes, another network
    save_checkpoint(tmp_path / "other.pt", X3D_SPACE, other, PRESETS["XS"])
    (tmp_path / "corrupt.pt").write_bytes((tmp_path / "other.pt").read_bytes()[:500])
    (tmp_path / "bad.yaml").write_text(
        arch.read_text().replace("width_factor: 1.0", "width_factor: -1")
    )
    paths = {
        name: tmp_path / f"{name}.{suffix}"
        for name, suffix in [("other", "pt"), ("corrupt", "pt"), ("bad", "yaml")]
    }
    args = [arg.format(**paths) for arg in overrides]
    with pytest.raises(UserError, match=message) as error:
        train(settings(*run_args(arch, tmp_path / "run"), *args), io.StringIO())
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_starting_weights_give_the_architecture_when_arch_is_left_out(tmp_path: Path) -> None:
    x2d = PRESETS["X2D"]  # the only preset with its network: no frames, stride, crop needed
    save_mmaction2(tmp_path / "x3d.pth", build_x3d(x2d, 6), x2d)
    document = torch.load(tmp_path / "x3d.pth", weights_only=True)
    torch.save({"state_dict": document["state_dict"]}, tmp_path / "x3d.pth")  # as mmaction2's
    args = ["recipe=tiny", *DATA, f"checkpoint={tmp_path / 'x3d.pth'}"]

    plan = training_plan(settings(*args), tmp_path / "run")
    auto = training_plan(settings(*args, "arch=auto"), tmp_path / "run")

    assert plan.config == auto.config == x2d
    assert plan.init_checkpoint == tmp_path / "x3d.pth"
    with pytest.raises(UserError, match=r"^arch= is required without checkpoint="):
        training_plan(settings("recipe=tiny", *DATA), tmp_path / "run")


def test_resume_falls_back_to_the_previous_checkpoint(uninterrupted: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    for name in ("final.json", "final.pt"):
        (run / name).unlink()
    newest = run / "checkpoints" / f"epoch_{EPOCHS:04d}.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # torn by a full disk or a bad copy
    stream = io.StringIO()
    final = train(settings(f"resume={run}"), stream)
    assert f"skipping an unreadable checkpoint: {newest}" in stream.getvalue()
    assert f"resuming after epoch {EPOCHS - 1} of {EPOCHS}" in stream.getvalue()
    assert final == json.loads((uninterrupted / "final.json").read_text())
