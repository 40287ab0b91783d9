"""The browser's chart library from the local Solara assets, so the page draws charts with no network.

Solara's asset proxy serves files from its cache (`<prefix>/share/solara/cdn`, filled by the
`solara-assets` package) and goes to the internet only for names it does not hold. The
package holds Vega under full versions (`vega@5.21.0`), so the chart asks for exactly those
names: whichever way the server was started (`sociosim viz` or `solara run viz/app.py`),
nothing is downloaded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: The libraries the chart loads, with the major version it was written for.
MAJORS = {"requirejs": "2", "vega": "5", "vega-lite": "5", "vega-embed": "6"}


def installed_assets() -> Path:
    """Where Solara keeps its asset files in this environment (its default proxy cache)."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name.split("@", 1)[1]))


def chart_libraries(source: Path | None = None) -> dict[str, str]:
    """Each library's asset name, the newest installed version of its major (`vega@5.21.0`).

    A library that is not installed keeps its major-version name (`vega@5`), which Solara's
    proxy would then fetch from the network.
    """
    source = source or installed_assets()
    names = [p.name for p in source.iterdir()] if source.is_dir() else []
    libraries = {}
    for package, major in MAJORS.items():
        versions = [n for n in names if n.startswith(f"{package}@{major}.")]
        libraries[package] = max(versions, key=_version_key) if versions else f"{package}@{major}"
    return libraries
