"""Single trials (`single_trials.py`) on variants of the `scales` stripes, to find a design whose
stripes a short trial learns reliably at their crop and not one crop smaller.

    python experiments/scales_cpu/stripe_probes.py --stripe-pixels 2.5 [--reach-factor 0] \
        --out experiments/scales_cpu/stripe_probes/p2.5.csv 4,12,160,2,1,1 [seed=1 ...]

`--stripe-pixels` replaces `scales.STRIPE_PIXELS` (the stripes' period in the crop they are made
for, at its test scale), `--reach-factor` multiplies every stripes kind's reach (0: stripes in
every frame of the striped class). The variant is patched into this process only (trials run
in it, `trial.num_workers=0`); the recorded `data` column still names the built-in version, so
each variant writes its own CSV.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import single_trials

from expansion.data.synthetic import scales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stripe-pixels", type=float, default=scales.STRIPE_PIXELS)
    parser.add_argument("--reach-factor", type=float, default=1.0)
    args, rest = parser.parse_known_args()
    scales.STRIPE_PIXELS = args.stripe_pixels
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
