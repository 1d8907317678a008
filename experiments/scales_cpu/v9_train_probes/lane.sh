#!/usr/bin/env bash
# v9: 8 x 9 x 160 single trials with NUM_TRAIN training videos, seeds 0 and 1 (one thread)
#   experiments/scales_cpu/v9_train_probes/lane.sh NUM_TRAIN
cd "$(dirname "$0")/../../.."
n=$1; out=experiments/scales_cpu/v9_train_probes
echo "=== $(date -u '+%F %T') UTC commit $(git rev-parse --short HEAD) data.num_train=$n" >> $out/train$n.console.txt
for seed in 0 1; do
    .venv/bin/python experiments/scales_cpu/single_trials.py --threads 1 --out $out/train$n.csv \
        8,9,160,2,1,1 data.num_train=$n seed=$seed >> $out/train$n.console.txt 2>&1
done
