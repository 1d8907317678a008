"""Single search trials of given X3D configurations, with the search's defaults (trial=short on
the built-in benchmark), each appended to a CSV as soon as it finishes.

Used to show that the benchmark's cues go on past the searches' 1.2 GFLOPs target (a model at
about 2.5 and one at about 5 GFLOPs against their one-step-smaller parents), and to check which
pairs of classes a view's trial learns (`per_class`).

    python experiments/scales_cpu/single_trials.py --out experiments/scales_cpu/beyond.csv \
        16,6.75,224,2,1,1 16,6.75,320,2,1,1 32,5.0625,320,2,1,1 [--threads 2] [seed=0 ...]

A configuration is `frames,stride,crop,width,bottleneck,depth`; trailing `key=value` arguments
are configuration overrides, as for `python -m expansion.run`; `--stripe-pixels` tries other
stripes than the built-in version's (with `trial.num_workers=0`, the default, clips are made in
this process). Trials already in the CSV (same configuration and seed) are skipped, so the
script can be stopped and run again.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import numpy as np

from expansion.cli import compose_settings
from expansion.data.synthetic import scales
from expansion.search.complexity import config_complexity
from expansion.search.config import run_settings
from expansion.search.records import TrialSpec
from expansion.training.trial import run_trial
from search_spaces.x3d import X3DConfig

FIELDS = ["frames", "stride", "crop", "width_factor", "bottleneck_factor", "depth_factor"]


def square_vertical_looks(cue, rng, size, short, horizontal, light=0.5):
    """Probe variant of `scales._stripe_looks`: a square wave (box-filtered over 16 samples a
    pixel) in place of the sinusoid, always vertical (`horizontal` ignored)."""
    phase = rng.uniform(0, 1)
    width = size[1]
    samples = (np.arange(width * 16, dtype=np.float64) + 0.5) / 16
    square = ((samples / cue.stripe_period(short) + phase) % 1 < 0.5).astype(np.float32)
    wave = square.reshape(width, 16).mean(axis=1)[None, :, None]
    bright = light + (1 - light) * np.array(cue.hue, np.float32)
    dark = 0.1 * np.array(cue.hue, np.float32)
    return tuple(
        np.rint(np.broadcast_to(dark + shade * (bright - dark), (*size, 3)) * 255).astype(np.uint8)
        for shade in (wave, 1 - wave)
    )


def on_off_looks(cue, rng, size, short, horizontal):
    """Probe variant of `scales._stripe_looks`: vertical sinusoidal stripes (random phase) and
    the flat frame of their mean colour (`horizontal` ignored)."""
    phase = rng.uniform(0, 2 * np.pi)
    along = np.arange(size[1], dtype=np.float32)
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * along / cue.stripe_period(short) + phase)
    bright = 0.5 + 0.5 * np.array(cue.hue, np.float32)
    dark = 0.1 * np.array(cue.hue, np.float32)
    return tuple(
        np.rint(np.broadcast_to(dark + shade * (bright - dark), (*size, 3)) * 255).astype(np.uint8)
        for shade in (wave[None, :, None], np.full((1, 1, 1), 0.5, np.float32))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--stripe-pixels",
        type=float,
        default=scales.STRIPE_PIXELS,
        help="replaces scales.STRIPE_PIXELS in this process (trials run in it)",
    )
    parser.add_argument(
        "--square-vertical",
        action="store_true",
        help="probe: stripes as a box-filtered square wave, always vertical",
    )
    parser.add_argument(
        "--light",
        type=float,
        default=0.5,
        help="probe with --square-vertical: the bright stripes' colour is light + (1 - light) hue",
    )
    parser.add_argument(
        "--on-off",
        action="store_true",
        help="probe: vertical sinusoidal stripes and the flat frame of their mean colour",
    )
    parser.add_argument("configs", nargs="+", help="frames,stride,crop,width,bottleneck,depth")
    args, overrides = parser.parse_known_args()
    scales.STRIPE_PIXELS = args.stripe_pixels
    if args.square_vertical:
        scales._stripe_looks = partial(square_vertical_looks, light=args.light)
    if args.on_off:
        scales._stripe_looks = on_off_looks
    configs = [a for a in args.configs if "=" not in a]
    overrides += [a for a in args.configs if "=" in a]
    settings = run_settings(compose_settings("config", ["target_gflops=1", *overrides]), Path("."))
    job = settings.job
    job = replace(job, resources=replace(job.resources, cpus=args.threads))
    done = set()
    if args.out.exists():
        with args.out.open() as file:
            done = {(row["config"], int(row["seed"])) for row in csv.DictReader(file)}
    for text in configs:
        values = [float(value) for value in text.split(",")]
        config = X3DConfig(**dict(zip(FIELDS, values, strict=True)))
        if (text, job.seed) in done:
            print(f"{text}: already in {args.out}")
            continue
        complexity = config_complexity(job.space, config, job.data.num_classes)
        spec = TrialSpec(text, 0, "forward", "single", "", config, complexity.gflops, 0.0)
        started = time.perf_counter()
        outcome = run_trial(spec, job)
        hits = [int(hit) for hit in outcome.correct]
        classes = job.data.num_classes
        per_class = [sum(hits[c::classes]) / len(hits[c::classes]) for c in range(classes)]
        row = {
            "config": text,
            "seed": job.seed,
            **asdict(config),
            "gflops": complexity.gflops,
            "status": outcome.status,
            "top1": outcome.top1,
            "wall_s": time.perf_counter() - started,
            "threads": args.threads,
            "data": settings.data_name,
            "stripe_pixels": scales.STRIPE_PIXELS,
            "stripes": f"square, vertical, light {args.light}"
            if args.square_vertical
            else "sine, vertical, on-off"
            if args.on_off
            else "sine, random",
            # top-1 of each class (label = video index mod the class count), in class order
            "per_class": " ".join(f"{value:.2f}" for value in per_class),
        }
        new_file = not args.out.exists()
        with args.out.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        print(
            f"{text}: {complexity.gflops:.3g} GFLOPs, top-1 {100 * outcome.top1:.1f} %, "
            f"{row['wall_s'] / 60:.1f} min",
            flush=True,
        )


if __name__ == "__main__":
    main()
