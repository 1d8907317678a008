"""Complexity-query latency and CPU training throughput of X3D presets (not a test).

    python benchmarks/bench_model.py [--steps 3] [--threads N]

Prints seconds per complexity query (uncached and cached) for X2D and XL, and training clips/s
(forward + backward + SGD step, batch 4, fp32) of XS and S in contiguous and channels_last_3d
memory formats.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from expansion.search.complexity import config_complexity, measure_config
from search_spaces.x3d import PRESETS, X3D_SPACE, build_x3d


def seconds_per_call(function: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def complexity_queries() -> None:
    config_complexity(X3D_SPACE, PRESETS["XS"])  # first-use warm-up of torch's meta kernels
    for name in ["X2D", "XL"]:
        config = PRESETS[name]
        cold = seconds_per_call(lambda c=config: measure_config(X3D_SPACE, c), repeats=5)
        config_complexity(X3D_SPACE, config)
        warm = seconds_per_call(lambda c=config: config_complexity(X3D_SPACE, c), repeats=1000)
        print(f"complexity query {name:>3}: uncached {cold:.3f} s   cached {warm * 1e6:.1f} µs")


def training_clips_per_second(name: str, channels_last: bool, steps: int, batch: int) -> float:
    torch.manual_seed(0)
    config = PRESETS[name]
    model = build_x3d(config, num_classes=400).train()
    clips = torch.randn(X3D_SPACE.input_view(config).clip_shape(batch))
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        clips = clips.contiguous(memory_format=torch.channels_last_3d)
    labels = torch.randint(0, 400, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(clips), labels).backward()
        optimizer.step()

    step()  # warm-up
    return batch / seconds_per_call(step, repeats=steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per case")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    complexity_queries()
    for name in ["XS", "S"]:
        for channels_last in [False, True]:
            rate = training_clips_per_second(name, channels_last, args.steps, args.batch)
            layout = "channels_last_3d" if channels_last else "contiguous"
            print(f"train {name:>2} batch {args.batch} {layout:<16}: {rate:.2f} clips/s")


if __name__ == "__main__":
    main()
