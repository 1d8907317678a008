#!/usr/bin/env bash
# `scales-v6`: does a short trial learn each kind its view sees, and no flicker one crop early?
# Single trials side by side on one thread each, appended to v6.csv with each validation
# video's predicted class; rows already there (same view and seed) are skipped, so the script
# can be stopped and run again. The other CSVs hold the drafts on the way (README.md).
#   bash experiments/scales_cpu/v6_probes/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
trials="$here/../single_trials.py"
one() {  # view seed
    python "$trials" --threads 1 --out "$here/v6.csv" "$1" seed="$2" > "$here/v6_${1//,/_}_s$2.log" 2>&1
}
one 8,9,112,2,1,1 0 &
one 4,12,112,2,1,1 0 &
wait
