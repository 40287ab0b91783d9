"""Start the browser view: `solara run` on the packaged page, as a child this process owns.

The page module ships inside the package and is served by module name
(`solara run sociosim.viz.page`), so an installed wheel and a checkout start the same code.
The settings the page needs (scenario, user cap, store) travel by environment, and the
idle time after which Solara drops a page session (and its model) is its kernel cull
timeout. SIGTERM, SIGINT (Ctrl-C) and SIGHUP are passed on to the server, which is waited
for (and killed if it hangs), so the port is free when `sociosim viz` returns.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

from sociosim.errors import ScenarioError
from sociosim.viz.controls import MAX_USERS_ENV, SCENARIO_ENV, STORE_ENV, scenario_names
from sociosim.viz.replay import open_runs
from sociosim.viz.schema import CONTROLS, DEFAULT_MAX_USERS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_IDLE = "30m"
CULL_ENV = "SOLARA_KERNEL_CULL_TIMEOUT"
STOP_GRACE_S = 10.0
APP_MODULE = "sociosim.viz.page"


class ServeProblem(Exception):
    """Something about this machine stops the server (a taken port, an unreadable store): exit 1."""


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


def check_max_users(value: int) -> int:
    """`--max-users` within the schema's range of n_users."""
    hi = int(CONTROLS["n_users"].hi or 10_000_000)
    if not 1 <= value <= hi:
        raise ScenarioError("--max-users", f"must be an integer in [1, {hi:,}], got {value}")
    return value


def idle_seconds(text: str) -> float:
    """`--idle-timeout`: `90s`, `30m`, `2h` or plain seconds, above zero."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ScenarioError("--idle-timeout", f"must be a time above 0 such as 90s, 30m or 2h, got {text!r}")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port now, or None (the port is free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == 98:  # EADDRINUSE
                return f"port {port} on {host} is in use (another server?); choose another with --port"
            return f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port"
    return None


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


def viz_environment(
    scenario: str | None,
    *,
    max_users: int = DEFAULT_MAX_USERS,
    idle_s: float = 1800.0,
    store: Path | None = None,
) -> dict[str, str]:
    """The server's environment: ours, plus what the page reads (scenario, user cap, store, idle time)."""
    env = dict(os.environ)
    env.pop(SCENARIO_ENV, None)
    env.pop(STORE_ENV, None)
    if scenario is not None:
        env[SCENARIO_ENV] = scenario
    if store is not None:
        env[STORE_ENV] = str(store)
    env[MAX_USERS_ENV] = str(max_users)
    env[CULL_ENV] = f"{idle_s:g}s"
    return env


def run_server(command: list[str], env: dict[str, str]) -> int:
    """Run the server as a child; pass SIGTERM/SIGINT/SIGHUP on and wait for it, so the port is freed."""
    child = subprocess.Popen(command, env=env)
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while True:
            try:
                code = child.wait(timeout=STOP_GRACE_S if stopping else None)
                break
            except subprocess.TimeoutExpired:
                child.kill()  # did not stop within the grace time
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0 if stopping else code


def serve(
    scenario: str | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    production: bool = True,
    max_users: int = DEFAULT_MAX_USERS,
    idle_timeout: str = DEFAULT_IDLE,
    store: Path | None = None,
) -> int:
    """Run the page in the foreground until stopped; returns the exit code.

    Input errors raise ScenarioError (exit 2); a taken port or an unreadable store raises
    ServeProblem (exit 1).
    """
    name = check_scenario(scenario)
    cap = check_max_users(max_users)
    idle = idle_seconds(idle_timeout)
    command = viz_command(host=host, port=port, production=production)
    if store is not None:
        try:
            runs = open_runs(store)
        except ScenarioError as exc:
            raise ServeProblem(str(exc)) from None
        print(f"sociosim viz: replaying {len(runs.runs)} stored runs from {store}", flush=True)
    problem = port_problem(host, port)
    if problem:
        raise ServeProblem(problem)
    if not is_loopback(host):
        print(
            f"warning: --host {host} makes the page reachable from other machines; it has no login, "
            "and anyone who can reach it can run simulations here",
            file=sys.stderr,
            flush=True,
        )
    print(
        f"sociosim viz: open http://{host}:{port} (Ctrl+C stops the server; idle pages are dropped after "
        f"{idle_timeout}; at most {cap:,} users)",
        flush=True,
    )
    return run_server(command, viz_environment(name, max_users=cap, idle_s=idle, store=store))


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ServeProblem", "serve", "viz_command"]
