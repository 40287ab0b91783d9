#!/usr/bin/env bash
# Set up sociosim on a bare machine and run the main job: the maps_interventions study
# (a batch of MAPS levers against no intervention) and its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/sociosim batch maps_interventions --store results/maps_interventions "$@"
.venv/bin/sociosim report results/maps_interventions --out reports/maps_interventions
echo "report: $(pwd)/reports/maps_interventions/report.html"
