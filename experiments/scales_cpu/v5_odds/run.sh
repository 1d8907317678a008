#!/usr/bin/env bash
# How often a short trial learns each kind it sees, by trial setting: 8 × 9 × 160 (the v5
# search's step-4 spatial model) with the default 4 epochs, with 8, and with half the learning
# rate, several seeds each, two trials side by side on one thread each. Each setting appends to
# its own CSV; rows already there are skipped, so the script can be stopped and run again.
#   bash experiments/scales_cpu/v5_odds/run.sh SEED...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
trials="$here/../single_trials.py"
view=8,9,160,2,1,1
for seed in "$@"; do
    python "$trials" --threads 1 --out "$here/epochs8.csv" $view seed="$seed" trial.epochs=8 \
        > "$here/epochs8_seed$seed.log" 2>&1 &
    python "$trials" --threads 1 --out "$here/lr0.8.csv" $view seed="$seed" trial.base_lr=0.8 \
        > "$here/lr0.8_seed$seed.log" 2>&1
    python "$trials" --threads 1 --out "$here/default.csv" $view seed="$seed" \
        > "$here/default_seed$seed.log" 2>&1
    wait
done
