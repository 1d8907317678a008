#!/usr/bin/env bash
# Single trials with --brightness-jitter JITTER, one thread (ran on 0ca4cb1): seeds 0-3 of the
# 112 models, then seeds 0-1 of 8 x 9 x 160 (stopped before these: README)
#   experiments/scales_cpu/jitter_probes/lane.sh NAME JITTER
cd "$(dirname "$0")/../../.."
name=$1; j=$2; out=experiments/scales_cpu/jitter_probes
echo "=== $(date -u '+%F %T') UTC commit $(git rev-parse --short HEAD) brightness_jitter=$j" >> $out/$name.console.txt
for seed in 0 1 2 3; do
    .venv/bin/python experiments/scales_cpu/single_trials.py --threads 1 --brightness-jitter $j \
        --out $out/$name.csv 4,12,112,2,1,1 8,9,112,2,1,1 seed=$seed >> $out/$name.console.txt 2>&1
done
for seed in 0 1; do
    .venv/bin/python experiments/scales_cpu/single_trials.py --threads 1 --brightness-jitter $j \
        --out $out/$name.csv 8,9,160,2,1,1 seed=$seed >> $out/$name.console.txt 2>&1
done
