#!/usr/bin/env bash
# Serve the docs site locally (http://127.0.0.1:8000 unless told otherwise), rebuilt on every save.
# Usage: scripts/docs.sh [mkdocs serve options], e.g. scripts/docs.sh --dev-addr 127.0.0.1:8001
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/mkdocs ]; then
  bash scripts/setup_env.sh docs
fi
NO_MKDOCS_2_WARNING=1 exec .venv/bin/mkdocs serve "$@"
