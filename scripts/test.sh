#!/usr/bin/env bash
# Set up everything the tests need on a bare machine, build the docs site, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh dev,ema,docs
# Browser tests drive Debian's chromium through Playwright (no browser download).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium with apt-get"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not found and apt-get unavailable: browser tests will fail" >&2
  fi
fi
.venv/bin/ruff check .
# the docs site builds with no broken link or reference (into a temporary folder, not site/)
docs_out=$(mktemp -d)
trap 'rm -rf "$docs_out"' EXIT
echo "building the docs site (mkdocs build --strict)"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$docs_out"
.venv/bin/python -m pytest -q "$@"
