#!/usr/bin/env bash
# v9 probes: lane NAME CONFIG... (seeds given in the configs' overrides)
name=$1; shift
out=/work/main/experiments/scales_cpu/v9_probes
cd /work/v9
echo "=== $(date -u '+%F %T') UTC commit $(git rev-parse --short HEAD) (branch scales-v9)" >> $out/$name.console.txt
for seed in 0 1; do
PYTHONPATH=/work/v9 /work/main/.venv/bin/python experiments/scales_cpu/single_trials.py --threads 1 --out $out/$name.csv "$@" seed=$seed >> $out/$name.console.txt 2>&1
done
