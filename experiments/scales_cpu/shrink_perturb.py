"""Probe: an inheriting search whose candidates start from their parent's weights shrunk and
perturbed (Ash & Adams, "On warm-starting neural network training", 2020): every conv and
linear weight `w` of the transferred state becomes `shrink · w + perturb · w0`, `w0` a fresh
initialisation of the candidate (drawn from the trial seed and id, so a retrained trial starts
alike). Behind batch norm the shrink leaves the function as it is and raises the weight's
effective learning rate by 1/shrink²; the perturbation adds fresh features to learn from.

Why: inherited trials of the benchmark never learnt the fine-stripe flicker a spatial step adds,
even with as many epochs as a trial from scratch (`inherited_epochs/`).

    PYTHONPATH=. python experiments/scales_cpu/shrink_perturb.py --shrink 0.5 --perturb 0.1 \
        experiment=benchmark inherit=true dispatcher=inline machine_cpus=1 run_dir=... [...]

Trials run in this process (`dispatcher=inline`), where the transfer is replaced; the setting is
not recorded in the run's search.yaml, so the run folder's console must name it.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import torch

from expansion.run import main as run_search
from expansion.search.records import TrialSpec
from expansion.training import trial
from search_spaces import SearchSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shrink", type=float, required=True)
    parser.add_argument("--perturb", type=float, required=True)
    args, overrides = parser.parse_known_args()
    if not any(override.startswith("dispatcher=inline") for override in overrides):
        parser.error("dispatcher=inline is needed: the transfer is replaced in this process only")
    transferred = trial.inherited_state

    def shrunk_and_perturbed(
        folder: Path,
        spec: TrialSpec,
        space: SearchSpace,
        num_classes: int,
        noise: float,
        seed: int,
    ) -> dict[str, torch.Tensor]:
        state = transferred(folder, spec, space, num_classes, noise, seed)
        with torch.random.fork_rng():
            torch.manual_seed(zlib.crc32(f"{seed}/{spec.trial_id}/fresh".encode()))
            fresh = space.build(spec.config, num_classes).state_dict()
        return {
            name: args.shrink * value + args.perturb * fresh[name]
            if value.is_floating_point() and value.dim() >= 2
            else value
            for name, value in state.items()
        }

    trial.inherited_state = shrunk_and_perturbed
    print(f"shrink {args.shrink}, perturb {args.perturb}", flush=True)
    run_search(overrides)


if __name__ == "__main__":
    main()
