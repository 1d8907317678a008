"""Evaluation clips/s of X3D-XS and X3D-S views, and training clips/s on 1 vs 2 Ray Train workers.

    python benchmarks/bench_eval_train.py [--videos 2] [--train-videos 32] [--skip-eval]

Evaluation runs `expansion.evaluate` end to end (decoding H.264 files of the synthetic dataset at
its 256×340 size, views, model) with untrained weights: speed does not depend on them. Training
runs `expansion.train` with the tiny recipe at batch 8 on the model's own view and reports the
clips/s of the last epoch from `metrics.csv` (the first warms up). Timings on a shared machine
are noisy: run it when nothing else does.
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from expansion.data import SyntheticSpec
from expansion.data.export import export_split
from expansion.data.transforms import short_side_scale
from expansion.evaluate import evaluate_checkpoint
from expansion.results.checkpoints import save_checkpoint
from expansion.train import train
from search_spaces.x3d import PRESETS, X3D_SPACE, build_x3d

CONF = Path(__file__).resolve().parents[1] / "conf"


def composed(name: str, overrides: list[str]) -> dict[str, Any]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = compose(name, overrides=overrides)
    return OmegaConf.to_container(config, resolve=True)  # type: ignore[return-value]


def bench_eval(folder: Path, videos: int) -> None:
    export_split(
        SyntheticSpec(split="val", num_videos=videos, dataset="blinks"), folder / "videos", jobs=2
    )
    listed = folder / "videos" / "val.csv"
    data = ["data=kinetics", f"data.root={folder / 'videos'}", f"data.train_list={listed}"]
    data += [f"data.val_list={listed}", "data.num_classes=12", "batch_size=8", "num_workers=0"]
    print(f"{'model':<6} {'views':<6} {'clip shape':<18} {'clips':>6} {'s':>7} {'clips/s':>8}")
    for name in ("XS", "S"):
        checkpoint = folder / f"{name}.pt"
        save_checkpoint(checkpoint, X3D_SPACE, build_x3d(PRESETS[name], 12), PRESETS[name])
        for views in ("10x1", "10x3"):
            config = composed("evaluate", [f"checkpoint={checkpoint}", f"views={views}", *data])
            start = time.perf_counter()
            evaluate_checkpoint(config, io.StringIO())
            seconds = time.perf_counter() - start
            clips = videos * int(views[:2]) * int(views[-1])
            crop = (
                PRESETS[name].crop if views == "10x1" else short_side_scale(PRESETS[name].crop, 128)
            )
            shape = f"{PRESETS[name].frames}×{crop}²"
            rate = clips / seconds
            print(f"{name:<6} {views:<6} {shape:<18} {clips:>6} {seconds:>7.1f} {rate:>8.2f}")


def bench_train(folder: Path, train_videos: int) -> None:
    print(f"\n{'model':<6} {'workers':>7} {'threads':>7} {'clips/s':>8} {'wall s':>7}")
    for workers, threads in ((1, 1), (1, 2), (2, 1)):
        out_dir = folder / f"train_{workers}x{threads}"
        overrides = [
            "arch=XS",
            "recipe=tiny",
            "recipe.epochs=2",
            "recipe.batch_size=8",
            "recipe.precise_bn_batches=0",
            "recipe.test_views=1x1",
            f"recipe.cpus={threads}",
            f"data.num_train={train_videos}",
            "data.num_val=2",
            f"workers={workers}",
            f"out_dir={out_dir}",
        ]
        start = time.perf_counter()
        train(composed("train", overrides), io.StringIO())
        wall = time.perf_counter() - start
        with (out_dir / "metrics.csv").open() as file:
            last = list(csv.DictReader(file))[-1]
        rate = float(last["clips_per_s"])
        print(f"{'XS':<6} {workers:>7} {threads:>7} {rate:>8.2f} {wall:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2, help="validation videos to evaluate")
    parser.add_argument("--train-videos", type=int, default=32, help="clips per epoch")
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_eval:
            bench_eval(Path(folder), args.videos)
        bench_train(Path(folder), args.train_videos)


if __name__ == "__main__":
    main()
