"""The browser view in a real browser: `sociosim viz` on a free loopback port, driven by headless Chromium.

Starts the server through the CLI (so the default host is what a user gets), moves the β
slider, resets, steps, and checks that the page's numbers follow the model. Saves a
screenshot to test-artifacts/viz_page.png. Needs Debian's /usr/bin/chromium and the
`playwright` package; no browser is downloaded.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
START_TIMEOUT_S = 90
UI_TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]


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


@pytest.fixture
def server(tmp_path):
    """`sociosim viz --port P` (default host) in its own process group; killed at the end."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    env = {k: v for k, v in os.environ.items() if k not in {"HOST", "SOLARA_HOST", "PORT"}}
    process = subprocess.Popen(
        [sys.executable, "-c", "from sociosim.cli import main; main()", "viz", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, START_TIMEOUT_S)
        yield port
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        log.close()


def step_number(page) -> int:
    return int(re.search(r"\d+", page.inner_text(".sociosim-step")).group())


def test_page_runs_in_chromium(server, chromium):
    port = server
    # the default host is loopback only
    assert listening_addresses(port) == {"0100007F"}, listening_addresses(port)

    errors: list[str] = []
    page = chromium.new_page(viewport={"width": 1600, "height": 2600})
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"http://127.0.0.1:{port}/", timeout=UI_TIMEOUT_MS)
    page.wait_for_selector(".sociosim-step")
    page.wait_for_selector("img.sociosim-figure")
    assert step_number(page) == 0
    assert "β 1 " in page.inner_text(".sociosim-settings")

    # move the β slider four notches (0.25 each) with the keyboard, then Reset applies it
    slider = page.locator(".v-input", has_text="β (optimisation pressure)").locator("[role=slider]")
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function("() => document.querySelector('.sociosim-settings').innerText.includes('β 2 ')")

    cell = "[data-measure='true_utility']"
    before_value = page.inner_text(cell)
    before_image = page.get_attribute("img.sociosim-figure >> nth=3", "src")
    for k in range(1, 4):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            f"() => document.querySelector('.sociosim-step').innerText.trim() === 'Step {k}'"
        )
    assert step_number(page) == 3
    page.wait_for_function(f"() => document.querySelector(\"{cell}\").innerText !== '{before_value}'")
    assert page.get_attribute("img.sociosim-figure >> nth=3", "src") != before_image
    time.sleep(1.0)  # let the last images land before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz_page.png"), full_page=True)
    assert errors == [], errors
