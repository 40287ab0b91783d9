"""The browser's chart library from the local Solara assets, so the page draws charts with no network.

Solara's Vega-Lite widget asks its asset proxy for `vega@5`, `vega-lite@5` and `vega-embed@6`;
the installed assets hold them only under full versions (`vega@5.21.0`), so the proxy would
go to the internet for them. `offline_assets` builds a directory of links to the installed
assets plus those major-version names, and the server is pointed at it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ASSETS_ENV = "SOLARA_ASSETS_PROXY_CACHE_DIR"
ALIASES = {"vega": "5", "vega-lite": "5", "vega-embed": "6"}


def installed_assets() -> Path:
    """Where Solara keeps its asset files in this environment (its default proxy cache)."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def default_target() -> Path:
    """The per-user directory for the links (`$XDG_CACHE_HOME/sociosim/solara-assets`)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sociosim" / "solara-assets"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name.split("@", 1)[1]))


def offline_assets(source: Path | None = None, target: Path | None = None) -> Path | None:
    """A directory with every installed asset and the major-version names; None if nothing is installed."""
    source = source or installed_assets()
    target = target or default_target()
    if not source.is_dir():
        return None
    target.mkdir(parents=True, exist_ok=True)
    entries = {p.name: p for p in source.iterdir() if not p.name.startswith(".")}
    links = dict(entries)
    for package, major in ALIASES.items():
        versions = [n for n in entries if n.startswith(f"{package}@{major}.")]
        if versions:
            links[f"{package}@{major}"] = entries[max(versions, key=_version_key)]
    for name, real in links.items():
        link = target / name
        if link.is_symlink() and link.resolve() == real.resolve():
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            continue  # a real directory (an asset the proxy fetched itself): keep it
        link.symlink_to(real, target_is_directory=real.is_dir())
    return target
