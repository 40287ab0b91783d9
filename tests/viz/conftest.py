"""Helpers for the view's server tests: a `sociosim viz` process on a free loopback port, and its sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

START_TIMEOUT_S = 90


def free_port() -> int:
    """A port nobody listens on now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses (hex, as /proc/net shows them) of sockets listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with code {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"server did not listen on 127.0.0.1:{port} within {timeout}s")


class Server:
    """A `sociosim viz` process in its own process group, with its log."""

    def __init__(self, args: list[str], log: Path, *, port: int | None = None, new_session: bool = True):
        self.port = port or free_port()
        self.log = log
        self._log = log.open("w")
        env = {k: v for k, v in os.environ.items() if k not in {"HOST", "SOLARA_HOST", "PORT"}}
        command = [sys.executable, "-c", "from sociosim.cli import main; main()", "viz", *args]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=new_session,
        )
        wait_for_port(self.port, self.process, START_TIMEOUT_S)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        self._log.close()


@pytest.fixture
def start_server(tmp_path):
    """Start `sociosim viz ARGS --port P` (a free port); every server started is stopped at the end."""
    started: list[Server] = []

    def start(*args: str) -> Server:
        server = Server(list(args), tmp_path / f"server{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def viz_tools() -> SimpleNamespace:
    """The helpers above, for tests that start servers themselves."""
    return SimpleNamespace(Server=Server, listening_addresses=listening_addresses, free_port=free_port)
