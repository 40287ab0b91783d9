"""The report as a reader's browser shows it: no table wider than the window at 1,280 px or 800 px."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sociosim.analysis.report import write_reports
from sociosim.batch.execute import run_batch
from sociosim.config.scenario import Scenario
from sociosim.runner import RunResult

LEVERS = ["none", "misspecification", "annotation", "pressure", "shift", "disclosure"]
MEASURES = (
    "gap",
    "true_utility",
    "proxy",
    "kl",
    "gap_shift",
    "utility_min",
    "overtrust",
    "sycophancy",
    "mirage",
)


def fake_run(params, *, steps, seed, agent_snapshot_every=0, progress=False):
    """A stand-in with every headline measure, so the report's widest tables all appear."""
    rng = np.random.default_rng(seed)
    data = {"step": np.arange(1, steps + 1)}
    for i, name in enumerate(MEASURES):
        data[name] = 0.1 * i + 0.2 * params.beta + rng.normal(0, 0.05, steps) + 0.1 * rng.normal()
    data["trust_mean"] = 0.6 + rng.normal(0, 0.01, steps)
    data["reliability"] = 0.55 + rng.normal(0, 0.01, steps)
    return RunResult(measures=pd.DataFrame(data), events=pd.DataFrame())


CLAIMS = [
    {
        "text": f"Under {lever} the gap under shift falls against no lever at the highest pressure, as the study expects.",
        "measure": "gap_shift",
        "level": lever,
        "where": {"beta": 2.0},
        "direction": "lower",
    }
    for lever in LEVERS[1:]
] + [
    {
        "text": "The gap grows with beta under M.",
        "measure": "gap",
        "comparison": "slope",
        "level": "misspecification",
        "direction": "higher",
    }
]


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layout")
    scenario = Scenario.model_validate(
        {
            "scenario": {
                "name": "wide",
                "title": "Six arms, three pressures, every headline measure",
                "question": "Do the report's tables fit a laptop and a narrow window?",
                "claims": CLAIMS,
            },
            "run": {"steps": 4, "seed": 2, "replications": 3},
            "design": {"method": "grid", "parameters": {"lever": LEVERS, "beta": [0.5, 1.0, 2.0]}},
        }
    )
    store = tmp / "store"
    run_batch(scenario, store=store, progress=False, executor="serial", _run_fn=fake_run)
    (result,) = write_reports(store, tmp / "out", by="lever", baseline="none", n_boot=200)
    return result


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_no_table_is_wider_than_the_window(wide_report, chromium, width):
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(wide_report.html.as_uri(), wait_until="load")
    tables = page.eval_on_selector_all(
        "table",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, caption: e.caption ? e.caption.textContent : ''}; })",
    )
    assert len(tables) >= 8
    too_wide = [t for t in tables if t["left"] < 0 or t["right"] > width]
    assert too_wide == [], f"tables wider than {width} px: {too_wide}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing scrolls sideways
    images = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
    assert images and all(images)
    page.close()


@pytest.mark.browser
def test_print_layout_keeps_tables_on_the_page(wide_report, chromium):
    """The print stylesheet: an A4 PDF renders and its tables fit the printable width."""
    page = chromium.new_page()
    page.goto(wide_report.html.as_uri(), wait_until="load")
    page.emulate_media(media="print")
    widest = page.evaluate(
        "Math.max(...Array.from(document.querySelectorAll('table')).map(e => e.getBoundingClientRect().right))"
    )
    body = page.evaluate("document.body.getBoundingClientRect().right")
    assert widest <= body + 1
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.close()
