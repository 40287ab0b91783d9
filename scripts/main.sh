#!/usr/bin/env bash
# Set up sociosim on a bare machine and run the main job: the maps_interventions study
# (a batch of MAPS levers against no intervention) and its report.
# Extra arguments go to `sociosim batch`, e.g. `bash scripts/main.sh --replications 20`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== main job 1/3: set-up"
bash scripts/setup_env.sh
start=$(date +%s)
echo "== main job 2/3: the maps_interventions batch (its design x replications, one worker per CPU)"
.venv/bin/sociosim batch maps_interventions --store results/maps_interventions "$@"
echo "== main job 3/3: its report"
.venv/bin/sociosim report results/maps_interventions --out reports/maps_interventions --by lever --baseline none
echo "main job took $(( $(date +%s) - start )) s"
echo "report: $(pwd)/reports/maps_interventions/report.html"
