#!/usr/bin/env bash
# Create (or reuse) .venv with Python >= 3.12 and install sociosim into it, saying what it does.
# Usage: scripts/setup_env.sh [EXTRAS]   e.g. scripts/setup_env.sh dev,docs
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
  python=$(bash scripts/find_python.sh)
  echo "creating .venv with $python ($("$python" --version))"
  rm -rf .venv
  "$python" -m venv .venv
fi
# pip's notes about this machine's unused local indexes are noise here: drop just those lines.
# Of pip's own output only what it fetches and what it installed is shown, one line each.
pip_steps() {
  .venv/bin/python -m pip "$@" --progress-bar off 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2) \
    | { grep --line-buffered -E '^(Collecting|Successfully installed)' || true; } \
    | sed -u -e 's/ (from .*//' -e 's/^Collecting /  collecting /' -e 's/^Successfully installed /  installed: /'
}
echo "[1/3] pip: upgrading the installer"
pip_steps install --upgrade pip
if [ -n "$extras" ]; then
  echo "[2/3] sociosim with extras $extras and their dependencies (on a new .venv about a minute)"
  pip_steps install -e ".[$extras]"
else
  echo "[2/3] sociosim and its dependencies (on a new .venv about a minute)"
  pip_steps install -e .
fi
echo "[3/3] check: $(.venv/bin/python -c 'import sociosim; print("sociosim", sociosim.__version__)' 2>&1 | tail -1) in $(pwd)/.venv"
