#!/usr/bin/env bash
# Print the path of a working Python >= 3.12 (Mesa >= 3.4 needs it), or explain and fail.
# Order: $SOCIOSIM_PYTHON, python3.13/python3.12 on PATH (if they actually run), pyenv's
# installed versions, then plain python3.
set -u
works() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${SOCIOSIM_PYTHON:-}" ] && candidates+=("$SOCIOSIM_PYTHON")
for name in python3.13 python3.12; do
  command -v "$name" >/dev/null 2>&1 && candidates+=("$(command -v "$name")")
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for dir in "$root"/versions/3.12* "$root"/versions/3.13*; do
    [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
  done
fi
for dir in "$HOME"/.pyenv/versions/3.12* "$HOME"/.pyenv/versions/3.13*; do
  [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
done
command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
for candidate in "${candidates[@]}"; do
  if works "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
cat >&2 <<'MSG'
sociosim needs Python 3.12 or newer (Mesa >= 3.4 requires it), and none was found.
Install one, e.g. `pyenv install 3.12` or your system's python3.12 package (Debian/Ubuntu:
`apt-get install python3.12 python3.12-venv`), or point SOCIOSIM_PYTHON at it.
MSG
exit 1
