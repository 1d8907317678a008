"""Where a search trial's time goes: one trial of a configuration under cProfile, its wall time
split into training steps (forward, backward, optimizer), training clips, evaluation (its clips
and forwards) and the speed measurement.

    python benchmarks/bench_trial_phases.py 4,12,112,2,1,1 [--threads 1] [--torch-convolutions] \
        [key=value ...]

A configuration is `frames,stride,crop,width,bottleneck,depth`; `key=value` arguments are
configuration overrides, as for `python -m expansion.run` (default: `trial=short` on the
built-in benchmark, `trial.num_workers=0`, so clips are made in the trial's own process).
`--torch-convolutions` trains the channel-wise convolutions with torch's own backward instead
of `ChannelwiseConv3d`'s (the same numbers up to rounding), to time a trial each way.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from dataclasses import replace
from pathlib import Path

from torch import nn

from expansion.cli import compose_settings
from expansion.search.complexity import config_complexity
from expansion.search.config import run_settings
from expansion.search.records import TrialSpec
from expansion.training.trial import run_trial
from search_spaces.x3d import X3DConfig
from search_spaces.x3d.channelwise import ChannelwiseConv3d

FIELDS = ("frames", "stride", "crop", "width_factor", "bottleneck_factor", "depth_factor")
# (phase, the function whose cumulative time it is: file suffix, function name)
PHASES = (
    ("training epochs (all)", "training/loop.py", "train_one_epoch"),
    ("  training clips (render, scale, crop)", "data/clips.py", "train_clip"),
    ("  backward", "torch/_tensor.py", "backward"),
    ("  optimizer steps", "torch/optim/optimizer.py", "wrapper"),
    ("evaluation (all)", "training/loop.py", "evaluate"),
    ("  evaluation clips", "data/clips.py", "test_clips"),
    ("latency and throughput", "training/latency.py", "measure_speed"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="frames,stride,crop,width,bottleneck,depth")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--torch-convolutions", action="store_true")
    args, overrides = parser.parse_known_args()
    if args.torch_convolutions:
        ChannelwiseConv3d.forward = nn.Conv3d.forward  # type: ignore[method-assign]
    config = X3DConfig(**dict(zip(FIELDS, map(float, args.config.split(",")), strict=True)))
    composed = compose_settings("config", ["target_gflops=1", *overrides])
    job = run_settings(composed, Path(".")).job
    job = replace(job, resources=replace(job.resources, cpus=args.threads))
    gflops = config_complexity(job.space, config, job.data.num_classes).gflops
    spec = TrialSpec(args.config, 0, "forward", "single", "", config, gflops, 0.0)
    profile = cProfile.Profile()
    started = time.perf_counter()
    outcome = profile.runcall(run_trial, spec, job)
    wall = time.perf_counter() - started
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    print(
        f"{args.config}: {gflops:.3g} GFLOPs, {args.threads} thread(s), "
        f"{'torch' if args.torch_convolutions else 'ChannelwiseConv3d'} backward, top-1 "
        f"{100 * outcome.top1:.1f} %, {wall:.1f} s wall, {outcome.cpu_s:.1f} s CPU"
    )
    for phase, suffix, name in PHASES:
        seconds = sum(
            entry[3]  # cumulative time
            for (file, _, function), entry in stats.items()
            if function == name and file.endswith(suffix)
        )
        print(f"  {phase:<40} {seconds:7.1f} s  {100 * seconds / wall:5.1f} %")


if __name__ == "__main__":
    main()
