#!/usr/bin/env bash
# Create (or reuse) .venv with Python >= 3.12 and install sociosim into it.
# Usage: scripts/setup_env.sh [EXTRAS]   e.g. scripts/setup_env.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
  python=$(bash scripts/find_python.sh)
  echo "creating .venv with $python ($("$python" --version))"
  rm -rf .venv
  "$python" -m venv .venv
fi
# pip's notes about this machine's unused local indexes are noise here: drop just those lines
quiet_pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2); }
quiet_pip install --quiet --upgrade pip
if [ -n "$extras" ]; then
  quiet_pip install --quiet -e ".[$extras]"
else
  quiet_pip install --quiet -e .
fi
