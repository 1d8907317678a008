"""Single search trials of given X3D configurations, with the search's defaults (trial=short on
the built-in benchmark), each appended to a CSV as soon as it finishes.

Used to show that the benchmark's cues go on past the searches' 1.2 GFLOPs target (a model at
about 2.5 and one at about 5 GFLOPs against their one-step-smaller parents), and to check which
pairs of classes a view's trial learns (`per_class`) and what it called each validation video
(`predicted`: a pair missed as one state, or taken for another kind).

    python experiments/scales_cpu/single_trials.py --out experiments/scales_cpu/beyond.csv \
        8,9,320,2,1,1 8,9,456,2,1,1 16,6.75,456,2,1,1 [--threads 2] [seed=0 ...]

A configuration is `frames,stride,crop,width,bottleneck,depth`; trailing `key=value` arguments
are configuration overrides, as for `python -m expansion.run`; `--stripe-pixels` tries other
stripes than the built-in version's, `--on-off` stripes that come and go instead of reversing
and `--brightness-jitter J` training clips scaled by a random factor in [1 - J, 1 + J] (with
`trial.num_workers=0`, the default, clips are made in this process). The probes recorded
with `--square-vertical` ran on the code of their day; those stripes are the built-in ones
since `scales-v5`. Trials already in the CSV (same configuration and seed) are skipped, so the
script can be stopped and run again.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from expansion.cli import compose_settings
from expansion.data import clips, transforms
from expansion.data.synthetic import scales
from expansion.search.complexity import config_complexity
from expansion.search.config import run_settings
from expansion.search.records import TrialSpec
from expansion.training import trial
from expansion.training.trial import run_trial
from search_spaces.x3d import X3DConfig

BUILT_IN_LOOKS = scales._stripe_looks
FIELDS = ["frames", "stride", "crop", "width_factor", "bottleneck_factor", "depth_factor"]


def on_off_looks(cue, rng, size, short):
    """Probe variant of `scales._stripe_looks`: the built-in stripes and the flat frame of their
    mean colour, in place of the stripes reversed."""
    stripes, reversed_ = BUILT_IN_LOOKS(cue, rng, size, short)
    flat = (stripes.astype(np.uint16) + reversed_).mean(axis=(0, 1)) / 2
    return stripes, np.broadcast_to(np.rint(flat).astype(np.uint8), stripes.shape)


def brightness_jittered(jitter: float):
    """Probe variant of `clips.train_clip`: the clip's pixel values times a factor drawn from
    [1 - jitter, 1 + jitter] with the clip's generator, white kept white. A still blink's
    brightness then no longer tells it from a changing one's mean (README, "Why half the leads
    stay within the noise")."""
    built_in = clips.train_clip

    def train_clip(source, view, rng, fps=None):
        offset = transforms.MEAN / transforms.STD  # a normalised black pixel is -offset
        factor = float(rng.uniform(1 - jitter, 1 + jitter))
        scaled = (built_in(source, view, rng, fps) + offset) * factor
        return scaled.clamp_(max=1 / transforms.STD) - offset

    return train_clip


class LastPredictions:
    """Wraps the trial's `evaluate` to keep the class each validation video was called: which
    class a missed pair's videos went to tells a kind not learnt from a kind mistaken."""

    def __init__(self) -> None:
        self.labels: list[int] = []
        self._evaluate = trial.evaluate
        trial.evaluate = self

    def __call__(self, *args, **kwargs):
        evaluation = self._evaluate(*args, **kwargs)
        self.labels = evaluation.scores.argmax(dim=1).tolist()
        return evaluation


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
        "--on-off",
        action="store_true",
        help="probe: the stripes and the flat frame of their mean colour (not reversed)",
    )
    parser.add_argument(
        "--brightness-jitter",
        type=float,
        default=0.0,
        help="probe: training clips' pixel values times a random factor in [1 - J, 1 + J]",
    )
    parser.add_argument("configs", nargs="+", help="frames,stride,crop,width,bottleneck,depth")
    args, overrides = parser.parse_known_args()
    scales.STRIPE_PIXELS = args.stripe_pixels
    if args.on_off:
        scales._stripe_looks = on_off_looks
    if args.brightness_jitter:
        clips.train_clip = brightness_jittered(args.brightness_jitter)
    configs = [a for a in args.configs if "=" not in a]
    overrides += [a for a in args.configs if "=" in a]
    settings = run_settings(compose_settings("config", ["target_gflops=1", *overrides]), Path("."))
    job = settings.job
    job = replace(job, resources=replace(job.resources, cpus=args.threads))
    predictions = LastPredictions()
    done = set()
    if args.out.exists():
        with args.out.open() as file:
            reader = csv.DictReader(file)
            if "predicted" not in (reader.fieldnames or []):
                parser.error(f"{args.out} was written before `predicted`: append to a new --out")
            if args.brightness_jitter and "brightness_jitter" not in (reader.fieldnames or []):
                parser.error(f"{args.out} has no `brightness_jitter` column: use a new --out")
            done = {(row["config"], int(row["seed"])) for row in reader}
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
            "stripes": "on-off" if args.on_off else "reversed",
            "brightness_jitter": args.brightness_jitter,
            # top-1 of each class (label = video index mod the class count), in class order
            "per_class": " ".join(f"{value:.2f}" for value in per_class),
            # the class each validation video was called, in video order
            "predicted": " ".join(str(label) for label in predictions.labels),
        }
        new_file = not args.out.exists()
        if not new_file:  # an older file keeps its columns
            with args.out.open() as file:
                fieldnames = next(csv.reader(file))
        with args.out.open("a", newline="") as file:
            writer = csv.DictWriter(
                file, fieldnames=list(row) if new_file else fieldnames, extrasaction="ignore"
            )
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
