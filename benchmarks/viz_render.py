"""Browser view frame rate: steps shown per second while playing, in headless Chromium, and where the time goes.

(a) In a real browser: starts `sociosim viz` on a free port, sets the user count with the
page's own control, presses Reset and ▶, and counts the steps the page shows over
`--seconds`. (b) On the server, per step after a warm-up: `model.step()`, the society and
policy images (each redrawn only when its data changed), the five chart specs, and a full
re-render of the dashboard (`solara.render`). Reports wall and CPU time of this process;
on a shared, busy machine CPU time is the fairer figure. Goal: >= 5 frames/s at 2,000
users and >= 2 at 10,000.

    python benchmarks/viz_render.py [--users 2000 10000] [--seconds 20] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
CHROMIUM = "/usr/bin/chromium"


def timed(action) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CPU_SHARES: dict[int, tuple[float, float]] = {}  # users -> (server, browser) CPU seconds per second


def cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its children."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by the Chromium processes this benchmark started."""
    import psutil

    return sum(
        p.cpu_times().user + p.cpu_times().system
        for p in psutil.Process().children(recursive=True)
        if "chrom" in p.name().lower()
    )


def browser_rate(users: int, seconds: float) -> tuple[float, int]:
    """Steps per second the page shows while playing at `users` users, and the steps counted."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sociosim.cli", "viz", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector(".sociosim-chart-goodhart canvas")
            box = page.locator(".sociosim-param-n_users input").last
            box.fill(str(users))
            box.press("Enter")
            page.get_by_role("button", name="Reset").click()
            page.wait_for_function(
                "(n) => document.querySelector('.sociosim-settings').innerText.includes('n_users ' + n)",
                arg=str(users),
            )
            page.get_by_role("button", name="▶ Play").click()
            time.sleep(3.0)  # warm up (first frames build the figures)
            start_step = int(page.inner_text(".sociosim-step").split()[1])
            start = time.monotonic()
            cpu_before = cpu_seconds(server.pid), browser_cpu_seconds()
            time.sleep(seconds)
            end_step = int(page.inner_text(".sociosim-step").split()[1])
            elapsed = time.monotonic() - start
            cpu_after = cpu_seconds(server.pid), browser_cpu_seconds()
            CPU_SHARES[users] = tuple((a - b) / elapsed for a, b in zip(cpu_after, cpu_before, strict=True))
            page.get_by_role("button", name="⏸ Pause").click()
            browser.close()
        return (end_step - start_step) / elapsed, end_step - start_step
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def server_breakdown(users: int, steps: int, warmup: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds per step of each part of a frame on the server."""
    import solara

    from sociosim.viz.charts import PANELS, series_spec
    from sociosim.viz.controls import VizModel, scenario_view
    from sociosim.viz.page import Dashboard
    from sociosim.viz.panels import figure_png, policy_figure, results_of, society_figure

    model = VizModel(n_users=users)
    for _ in range(warmup):
        model.step()
    tick = solara.reactive(0)
    view = scenario_view("defaults")

    @solara.component
    def Probe():
        Dashboard(model, view, tick.value)

    solara.render(Probe(), handle_error=False)
    rows: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("step", "society", "policy", "charts", "frame")
    }
    for _ in range(steps):
        rows["step"].append(timed(model.step))
        rows["society"].append(timed(lambda: figure_png(society_figure(model))))
        rows["policy"].append(timed(lambda: figure_png(policy_figure(model))))
        frame = results_of(model)
        rows["charts"].append(timed(lambda f=frame: [series_spec(f, p, events=model.events) for p in PANELS]))
        model.step()
        rows["frame"].append(timed(lambda: tick.set(tick.value + 1)))
    return {
        k: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v)) for k, v in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true", help="server-side breakdown only")
    args = parser.parse_args()

    labels = {
        "step": "model.step()",
        "society": "society image (matplotlib PNG)",
        "policy": "policy image (matplotlib PNG; skipped on the page when the policy is unchanged)",
        "charts": "five chart specs (Altair, data only after the first frame)",
        "frame": "whole dashboard re-render after a step (solara.render)",
    }
    load = os.getloadavg()
    lines = [f"# Browser view frame rate ({os.cpu_count()} cores, load average {load[0]:.1f} at start)", ""]
    if not args.no_browser:
        lines += [
            "| users | steps shown per second while playing (Chromium) | steps counted "
            "| server CPU s per s | Chromium CPU s per s |",
            "|---|---|---|---|---|",
        ]
        for users in args.users:
            rate, counted = browser_rate(users, args.seconds)
            server_cpu, browser_cpu = CPU_SHARES[users]
            lines.append(
                f"| {users:,} | {rate:.2f} | {counted} in {args.seconds:g} s | {server_cpu:.2f} | {browser_cpu:.2f} |"
            )
            print(lines[-1], flush=True)
        lines.append("")
    for users in args.users:
        parts = server_breakdown(users, args.steps, args.warmup)
        lines += [
            f"Server side at {users:,} users, median of {args.steps} steps:",
            "",
            "| part | wall s | CPU s |",
            "|---|---|---|",
        ]
        lines += [f"| {labels[k]} | {w:.3f} | {c:.3f} |" for k, (w, c) in parts.items()]
        lines.append("")
    lines.append(f"load average at the end {os.getloadavg()[0]:.1f}")
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "viz_render.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
