"""Start the browser view: `solara run` on the packaged page, scenario passed by environment.

The page module ships inside the package and is served by module name
(`solara run sociosim.viz.page`), so an installed wheel and a checkout start the same code;
`viz/app.py` is a re-export for `solara run viz/app.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys

from sociosim.errors import ScenarioError
from sociosim.viz.controls import SCENARIO_ENV, scenario_names

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


APP_MODULE = "sociosim.viz.page"


def check_scenario(name: str | None) -> str | None:
    """A library scenario name, or a ScenarioError listing the names (the page never takes a path)."""
    if name is None:
        return None
    names = scenario_names()
    if name not in names:
        raise ScenarioError(
            "scenario", f"no library scenario named {name!r}; choose one of {', '.join(names)}"
        )
    return name


def viz_command(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, production: bool = True) -> list[str]:
    """The `solara run` command line for the page, listening on `host:port`."""
    if not 0 <= port <= 65535:
        raise ScenarioError("port", f"must be an integer in [0, 65535], got {port}")
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
    ]
    if production:
        command.append("--production")
    return command


def viz_environment(scenario: str | None) -> dict[str, str]:
    """The server's environment: ours, plus the scenario the page should open with."""
    env = dict(os.environ)
    if scenario is None:
        env.pop(SCENARIO_ENV, None)
    else:
        env[SCENARIO_ENV] = scenario
    return env


def serve(
    scenario: str | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    production: bool = True,
) -> int:
    """Run the page in the foreground until interrupted; returns the server's exit code."""
    name = check_scenario(scenario)
    command = viz_command(host=host, port=port, production=production)
    print(f"sociosim viz: open http://{host}:{port} (Ctrl+C stops the server)", flush=True)
    try:
        return subprocess.call(command, env=viz_environment(name))
    except KeyboardInterrupt:
        return 0
