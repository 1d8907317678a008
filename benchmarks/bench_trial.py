"""Time search trials of a few sizes on the built-in dataset and print what they learned.

    python benchmarks/bench_trial.py --trial short --train-videos 360 --val-videos 240 \
        --path bottleneck,frame_rate,spatial,depth,temporal --seeds 0 1

`--path` lists axes expanded one after another from X2D (the paper's path reaches XS by
`bottleneck,frame_rate,spatial,depth,temporal`); every prefix of it is trained, from X2D on.
`--candidates` trains instead every axis's candidate one step out of the last config of the path.
Timings on a shared machine are noisy: run it when nothing else does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from expansion.data import DataConfig, SyntheticSpec
from expansion.search.complexity import config_complexity
from expansion.search.records import TrialSpec
from expansion.training.resources import trial_settings
from expansion.training.trial import TrialJob, run_trial
from search_spaces import get_space

CONF = Path(__file__).resolve().parents[1] / "conf" / "trial"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trial", default="short", help="a conf/trial/*.yaml name")
    parser.add_argument("--set", nargs="*", default=[], help="overrides KEY=VALUE (YAML values)")
    parser.add_argument("--train-videos", type=int, default=360)
    parser.add_argument("--val-videos", type=int, default=240)
    parser.add_argument("--clutter", type=int, default=6, help="distractors per video")
    parser.add_argument("--path", default="bottleneck,frame_rate,spatial,depth,temporal")
    parser.add_argument("--candidates", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()

    values = yaml.safe_load((CONF / f"{args.trial}.yaml").read_text())
    values |= {key: yaml.safe_load(value) for key, value in (s.split("=", 1) for s in args.set)}
    settings, resources = trial_settings(values)
    space = get_space("x3d")
    configs = [("X2D", space.seed)]
    for axis in filter(None, args.path.split(",")):
        configs.append((f"{configs[-1][0]}+{axis}", space.axes[axis].expand(configs[-1][1])))
    if args.candidates:
        base_name, base = configs[-1]
        configs = [(f"{base_name}+{a}", axis.expand(base)) for a, axis in space.axes.items()]
    train = SyntheticSpec(
        split="train", num_videos=args.train_videos, dataset="blinks", clutter=args.clutter
    )
    val = SyntheticSpec(
        split="val", num_videos=args.val_videos, dataset="blinks", clutter=args.clutter
    )
    print(settings)
    print(f"train {args.train_videos}, val {args.val_videos} videos, clutter {args.clutter}")
    print(f"{'config':<50} {'GFLOPs':>7} {'seed':>4} {'s':>6} {'clips/s':>8} top1 per epoch")
    for name, config in configs:
        complexity = config_complexity(space, config)
        for seed in args.seeds:
            spec = TrialSpec(name, 0, "forward", name, "", config, complexity.gflops, 0.0)
            job = TrialJob(space, DataConfig(train, val, 12), seed, settings, resources)
            outcome = run_trial(spec, job)
            epochs = " ".join(f"{top1:.3f}" for top1 in outcome.epoch_top1)
            print(
                f"{name:<50} {complexity.gflops:7.3f} {seed:4d} {outcome.wall_s:6.1f} "
                f"{outcome.clips_per_s:8.2f} {epochs} {outcome.status} {outcome.error}",
                flush=True,
            )


if __name__ == "__main__":
    main()
