#!/usr/bin/env bash
# Single trials of CONFIG... with seeds 0 and 1, one thread, appended to NAME.csv. Ran on the
# scales-v9 draft (c3cbb14, whose videos main renders unchanged); the width candidate
# 8,9,224,2.96,1,1 was started by hand on 8022b0f with seed 0 only (b.console.txt).
#   experiments/scales_cpu/v9_probes/lane.sh NAME CONFIG...
cd "$(dirname "$0")/../../.."
name=$1; shift
out=experiments/scales_cpu/v9_probes
echo "=== $(date -u '+%F %T') UTC commit $(git rev-parse --short HEAD)" >> $out/$name.console.txt
for seed in 0 1; do
    .venv/bin/python experiments/scales_cpu/single_trials.py --threads 1 --out $out/$name.csv \
        "$@" seed=$seed >> $out/$name.console.txt 2>&1
done
