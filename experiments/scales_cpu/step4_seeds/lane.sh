#!/usr/bin/env bash
# Step 4's spatial candidate 8 x 9 x 160 as single trials (one thread) with seeds SEED...,
# rendered and trained by the checkout CHECKOUT (a worktree of v7, v9 or v10), appended to
# NAME.csv here: does v9 learn the crop-160 flicker less often than v7, and does v10?
#   experiments/scales_cpu/step4_seeds/lane.sh CHECKOUT NAME SEED...
here="$(cd "$(dirname "$0")" && pwd)"
checkout="$(cd "$1" && pwd)"; name=$2; shift 2
console="$here/$name.console.txt"
cd "$checkout"
echo "=== $(date -u '+%F %T') UTC commit $(git rev-parse --short HEAD) seeds $*" >> "$console"
for seed in "$@"; do
    PYTHONPATH="$checkout" "$here/../../../.venv/bin/python" \
        experiments/scales_cpu/single_trials.py --threads 1 --out "$here/$name.csv" \
        8,9,160,2,1,1 seed="$seed" >> "$console" 2>&1
done
