"""The browser view in a real browser: `sociosim viz` on a free loopback port, driven by headless Chromium.

Starts the server through the CLI (so the defaults are what a user gets) and checks what a
user sees: the scenario's studied factor as a control with its value, out-of-range input
refused, Reset applying a change, the page scrolling as a whole; replay of a stored run
scrubbed to a step; two runs side by side. Screenshots go to test-artifacts/. Needs
Debian's /usr/bin/chromium and the `playwright` package; no browser is downloaded.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from sociosim.config.params import ModelParams
from sociosim.viz.assets import chart_libraries, installed_assets

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
UI_TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def open_page(browser, url: str, errors: list[str], requests: list[str] | None = None):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, timeout=UI_TIMEOUT_MS)
    return page


def label_of(page, param: str) -> str:
    return page.inner_text(f".sociosim-param-{param} .sociosim-control-label").strip()


def type_value(page, param: str, text: str) -> None:
    box = page.locator(
        f".sociosim-param-{param} input[type=text], .sociosim-param-{param} input:not([type])"
    ).last
    box.fill(text)
    box.press("Enter")


def wait_text(page, selector: str, expected: str) -> None:
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
        arg=[selector, expected],
    )


def test_live_page_offers_the_studied_factor_and_reset_applies_it(start_server, chromium, viz_tools):
    server = start_server("sycophancy")
    assert viz_tools.listening_addresses(server.port) == {"0100007F"}  # the default host is loopback only
    errors: list[str] = []
    asked: list[str] = []
    page = open_page(chromium, server.url, errors, asked)
    page.wait_for_selector(".sociosim-step")
    page.wait_for_selector(".sociosim-chart-goodhart canvas")
    assert page.inner_text(".sociosim-step").strip() == "Step 0"
    # every script asset the page asked for is one the environment holds, so the server's
    # asset proxy never goes to the network for it
    assets = {m.group(1) for url in asked if (m := re.search(r"/_solara/cdn/([^/]+)/", url))}
    libraries = chart_libraries()
    assert {libraries["vega"], libraries["vega-lite"], libraries["vega-embed"]} <= assets, assets
    assert assets <= {p.name for p in installed_assets().iterdir()}, assets

    # the factor the scenario studies has a control, with its value and the design's values
    assert label_of(page, "flattery_bias") == "flattery_bias = 1.5"
    assert "the design runs 0, 1.5" in page.inner_text(".sociosim-param-flattery_bias")
    assert label_of(page, "beta") == "beta = 1"
    # the schema's description is the tooltip
    page.hover(".sociosim-param-flattery_bias .sociosim-control-label")
    page.wait_for_selector(".v-tooltip__content.menuable__content__active")
    tooltip = page.inner_text(".v-tooltip__content.menuable__content__active")
    assert tooltip == ModelParams.model_fields["flattery_bias"].description
    body = page.inner_text("body")
    assert "Use Threads" not in body and "PAGE 0" not in body.upper() and "Time:" not in body

    # out of range: refused on the page, naming the field and the range
    type_value(page, "flattery_bias", "50")
    wait_text(page, ".sociosim-param-flattery_bias", "must be [-10, 10]")
    assert label_of(page, "flattery_bias") == "flattery_bias = 1.5"

    for k in range(1, 4):
        page.get_by_role("button", name="Step").click()
        wait_text(page, ".sociosim-step", f"Step {k}")
    cell = "[data-measure='sycophancy']"
    with_bias = page.inner_text(cell)

    type_value(page, "flattery_bias", "0")
    wait_text(page, ".sociosim-param-flattery_bias", "press Reset to apply")
    assert "flattery_bias 1.5" in page.inner_text(".sociosim-settings")
    page.get_by_role("button", name="Reset").click()
    wait_text(page, ".sociosim-settings", "flattery_bias 0 ")
    assert page.inner_text(".sociosim-step").strip() == "Step 0"
    for k in range(1, 4):
        page.get_by_role("button", name="Step").click()
        wait_text(page, ".sociosim-step", f"Step {k}")
    assert page.inner_text(cell) != with_bias  # the run changed with the factor

    # the page scrolls as a whole under the mouse wheel
    title_before = page.locator("h2").bounding_box()["y"]
    chart = page.locator(".sociosim-chart-goodhart")
    chart.hover()
    page.mouse.wheel(0, 600)
    time.sleep(0.5)
    assert page.locator("h2").bounding_box()["y"] < title_before - 300

    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("h2").scroll_into_view_if_needed()
    page.set_viewport_size({"width": 1500, "height": 3000})  # the main column scrolls, not the document
    time.sleep(1.5)
    page.screenshot(path=str(ARTIFACTS / "viz_page.png"))
    assert errors == [], errors


def test_more_parameters_reach_any_other_parameter(start_server, chromium):
    server = start_server("sycophancy")
    errors: list[str] = []
    page = open_page(chromium, server.url, errors)
    page.wait_for_selector(".sociosim-step")
    assert page.locator(".sociosim-param-homophily").count() == 0
    page.get_by_role("button", name=re.compile(r"More parameters \(\d+\)")).click()
    page.wait_for_selector(".sociosim-param-homophily")
    assert label_of(page, "homophily") == "homophily = 0.8"
    type_value(page, "homophily", "0.5")
    wait_text(page, ".sociosim-param-homophily", "press Reset to apply")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "() => !document.querySelector('.sociosim-param-homophily').innerText.includes('press Reset')"
    )
    assert label_of(page, "homophily") == "homophily = 0.5"
    page.screenshot(path=str(ARTIFACTS / "viz_more_parameters.png"), full_page=False)
    assert errors == [], errors


@pytest.fixture(scope="module")
def stored_batch(tmp_path_factory) -> Path:
    """A small stored sweep of the sycophancy scenario (10 design points, 2 replicates, 12 steps, users every 4)."""
    from sociosim.batch.execute import run_batch

    store = tmp_path_factory.mktemp("replay") / "store"
    result = run_batch(
        "sycophancy",
        steps=12,
        replications=2,
        store=store,
        overrides={"n_users": 200},
        agent_snapshot_every=4,
        progress=False,
    )
    assert result.n_failed == 0
    return store


def select_option(page, container: str, label: str, option: str) -> None:
    """Pick `option` in the Vuetify select labelled `label` inside `container`."""
    page.locator(container).locator(".v-select", has_text=label).first.locator(".v-input__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()
    page.wait_for_selector(".menuable__content__active", state="detached")


def test_replay_scrubs_a_stored_run_and_compares_two(start_server, chromium, stored_batch):
    from sociosim.batch.store import open_store

    server = start_server("--store", str(stored_batch))
    errors: list[str] = []
    page = open_page(chromium, server.url, errors)
    page.wait_for_selector(".sociosim-step")
    page.get_by_role("button", name="Replay stored runs").click()
    page.wait_for_selector(".sociosim-replay-step")
    assert page.inner_text(".sociosim-replay-step").strip() == "Step 1 of 12"

    select_option(page, ".sociosim-pick-A", "design point", "point 3: flattery_bias 0.0, beta 2.0")
    wait_text(page, "body", "Run A: point 3")
    slider = page.locator(".v-slider [role=slider]").first
    slider.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    wait_text(page, ".sociosim-replay-step", "Step 7 of 12")

    stored = open_store(stored_batch).query(
        "SELECT m.gap, m.sycophancy FROM measures m JOIN runs r USING (run_key) "
        "WHERE r.point = 3 AND r.replicate = 0 AND m.step = 7"
    )
    for measure in ("gap", "sycophancy"):
        cell = f".sociosim-replay-value[data-run='A'][data-measure='{measure}']"
        wait_text(page, cell, f"{stored[measure].iloc[0]:.4f}")  # the stored value at step 7
        assert page.inner_text(cell) == f"{stored[measure].iloc[0]:.4f}", measure

    # the stored users at the last snapshot at or before the step
    wait_text(page, ".sociosim-replay-users-A", "Users at step 4")
    page.wait_for_selector(".sociosim-replay-users-A canvas")

    select_option(page, ".sociosim-pick-B", "scenario", "sycophancy")
    select_option(page, ".sociosim-pick-B", "design point", "point 8: flattery_bias 1.5, beta 2.0")
    wait_text(page, "body", "Run B: point 8")
    page.wait_for_selector(".sociosim-replay-chart-B canvas")
    assert page.locator(".sociosim-replay-chart-A").count() == 5
    assert page.locator(".sociosim-replay-chart-B").count() == 5
    a_box = page.locator(".sociosim-replay-chart-A").first.bounding_box()
    b_box = page.locator(".sociosim-replay-chart-B").first.bounding_box()
    assert abs(a_box["y"] - b_box["y"]) < 5 and b_box["x"] > a_box["x"]  # side by side
    assert page.locator(".sociosim-replay-value[data-run='B'][data-measure='gap']").count() == 1
    page.set_viewport_size({"width": 1500, "height": 2400})
    time.sleep(1.5)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz_replay.png"))
    assert errors == [], errors
