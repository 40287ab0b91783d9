"""`sociosim viz` as a process: signals free the port, and page sessions left without a close are dropped.

Real servers on free loopback ports. The idle test opens 20 pages in a Chromium it then
kills (so no page sends a close signal), and checks from the server's log that, after the
idle time, no page model is left in memory; the server's resident memory is written to
test-artifacts/viz_memory.txt.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_PATH = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(server, timeout: float = 30.0) -> float:
    """Seconds until the server and every process of its group have exited."""
    start = time.monotonic()
    server.process.wait(timeout=timeout)
    while group_alive(server.process.pid):
        assert time.monotonic() - start < timeout, "a server process outlived sociosim viz"
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.parametrize("how", ["SIGTERM to sociosim viz", "Ctrl-C to the group"])
def test_a_signal_stops_the_server_and_frees_the_port(tmp_path, how, viz_tools):
    Server, listening_addresses = viz_tools.Server, viz_tools.listening_addresses
    server = Server([], tmp_path / "server.log")
    try:
        children = psutil.Process(server.process.pid).children(recursive=True)
        assert children, "the page server runs as a child"
        if how.startswith("SIGTERM"):
            os.kill(server.process.pid, signal.SIGTERM)  # the parent only, as `kill PID` does
        else:
            os.killpg(server.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        wait_gone(server)
        assert server.process.returncode == 0
        assert listening_addresses(server.port) == set()
        assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
        again = Server([], tmp_path / "again.log", port=server.port)  # the port can be used at once
        again.stop()
    finally:
        with contextlib.suppress(Exception):
            server.stop()


def rss_mb(server) -> float:
    """Resident memory of the page server (the child process), in MB."""
    (child,) = [c for c in psutil.Process(server.process.pid).children() if "solara" in " ".join(c.cmdline())]
    return child.memory_info().rss / 1e6


def chromium_processes() -> set[int]:
    me = psutil.Process()
    return {p.pid for p in me.children(recursive=True) if "chrom" in p.name().lower()}


@pytest.mark.skipif(not CHROMIUM_PATH.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_sessions_left_without_a_close_are_dropped_after_the_idle_time(tmp_path, viz_tools):
    from playwright.sync_api import sync_playwright

    idle_s = 8
    pages = 20
    server = viz_tools.Server(["--idle-timeout", f"{idle_s}s"], tmp_path / "server.log")
    try:
        time.sleep(2.0)
        before = rss_mb(server)
        with sync_playwright() as playwright:
            known = chromium_processes()
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM_PATH), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            ours = chromium_processes() - known
            for _ in range(pages):
                page = browser.new_page()
                page.goto(server.url, timeout=60_000)
                page.wait_for_selector(".sociosim-step", timeout=60_000)
            loaded = rss_mb(server)
            for pid in ours:  # no page gets to say goodbye
                with contextlib.suppress(psutil.NoSuchProcess):
                    psutil.Process(pid).kill()
            with contextlib.suppress(Exception):
                browser.close()
        killed_at = time.monotonic()
        deadline = killed_at + idle_s + 90
        counts: list[int] = []
        while time.monotonic() < deadline:
            counts = [int(n) for n in re.findall(r"page models in memory: (\d+)", server.text())]
            if counts and counts[-1] == 0 and len(counts) >= pages - 1:
                break
            time.sleep(1.0)
        released_after = time.monotonic() - killed_at
        after = rss_mb(server)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "viz_memory.txt").write_text(
            f"{pages} page loads (2,000 users each), idle timeout {idle_s} s, browser killed without closing\n"
            f"server RSS: {before:.0f} MB before, {loaded:.0f} MB with {pages} sessions, "
            f"{after:.0f} MB after they were dropped ({released_after:.0f} s after the kill)\n"
            f"live page models logged as sessions ended: {counts}\n"
        )
        assert counts and counts[-1] == 0, server.text()[-2000:]
        assert len(counts) >= pages - 1  # (almost) every session ended; the first may predate the hook
        assert released_after >= idle_s - 1  # dropped by the idle time, not at once
        assert after < loaded  # and the memory went back to the system
    finally:
        server.stop()
