"""Single trials (`single_trials.py`) on variants of the `scales` stripes, to find a design whose
stripes a short trial learns reliably at their crop and not one crop smaller.

Written for `scales-v2`: it patches v2's internals, so it runs on the code of commit 9aa3a74
(where its results were made), not on later versions (`single_trials.py --stripe-pixels`
varies v3's stripes).

    python experiments/scales_cpu/stripe_probes.py --stripe-pixels 2.5 [--reach-factor 0] \
        [--half-size 0.5] --out experiments/scales_cpu/stripe_probes/p2.5.csv 4,12,160,2,1,1 \
        [seed=1 ...]

`--stripe-pixels` replaces `scales.STRIPE_PIXELS` (the stripes' period in the crop they are made
for, at its test scale), `--reach-factor` multiplies every stripes kind's reach (0: stripes in
every frame of the striped class), `--half-size` sets every carrier's half size as a share of
the short side (0.5: the carrier fills the frame), `--flicker P` makes the stripes of the first
class of each pair turn by half a cycle every P / 2 frames, and those of the second stay still
(both striped throughout); `--flip` turns them by half a cycle beyond the kind's reach instead.
The variant is patched into this process only (trials run in it, `trial.num_workers=0`); the
recorded `data` column still names the built-in version, so each variant writes its own CSV.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
import single_trials

from expansion.data.synthetic import scales


def _counterphase(period: int) -> None:
    """Stripes kinds are striped throughout; in the pair's first class the stripes' phase turns
    by half a cycle every `period / 2` frames (flicker) or, with period 0, in the frames beyond
    the kind's reach of the middle (flip); never in its second class."""
    stripe_looks, stripe_schedule = scales._stripe_looks, scales._stripe_schedule

    def looks(cue, rng, size, short, horizontal):
        flat, stripes = stripe_looks(cue, rng, size, short, horizontal)
        return stripes, (2 * flat.astype(int) - stripes).clip(0, 255).astype("uint8")

    def schedule(cue, num_frames, striped):
        if not period:
            return stripe_schedule(cue, num_frames, striped)
        turned = np.arange(num_frames) % period >= period // 2
        return (turned & striped).astype(np.uint8)

    scales._stripe_looks = looks
    scales._stripe_schedule = schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stripe-pixels", type=float, default=scales.STRIPE_PIXELS)
    parser.add_argument("--reach-factor", type=float, default=1.0)
    parser.add_argument("--half-size", type=float, default=scales._HALF_SIZE)
    parser.add_argument("--flicker", type=int, default=0)
    parser.add_argument("--flip", action="store_true")
    args, rest = parser.parse_known_args()
    scales.STRIPE_PIXELS = args.stripe_pixels
    scales._HALF_SIZE = args.half_size
    if args.flicker or args.flip:
        _counterphase(args.flicker)
    scales.CUES = tuple(
        replace(cue, reach=round(cue.reach * args.reach_factor))
        if isinstance(cue, scales.Stripes)
        else cue
        for cue in scales.CUES
    )
    sys.argv = [sys.argv[0], *rest]
    single_trials.main()


if __name__ == "__main__":
    main()
