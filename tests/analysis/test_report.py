"""The HTML/Markdown report: tables, embedded figures, provenance, no external references, CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sociosim.analysis import write_report
from sociosim.analysis.synthetic import synthetic_batch
from sociosim.cli import app

EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.I
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = write_report(synthetic_batch(replications=4, steps=12), out, n_boot=200)
    return result


def test_report_has_tables_embedded_figures_and_no_external_references(report):
    text = report.html.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<table") >= 8
    pngs = [p for p in report.figures if p.suffix == ".png"]
    assert len(pngs) >= 6
    assert text.count('src="data:image/png;base64,') == len(pngs)
    assert not EXTERNAL.search(text)
    for needle in (
        "Policy comparison: aggregation against pooled",
        "Gap against optimisation pressure",
        "Goodhart curve",
        "Who gains, who loses",
        "Provenance",
        "scenario hash",
        "0123456789abcdef",
    ):
        assert needle in text
    assert "could not be computed" not in text
    assert report.skipped["sensitivity"] == "not a sobol or morris design"


def test_markdown_links_existing_figure_files(report):
    md = report.markdown.read_text()
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert links and all((report.markdown.parent / link).is_file() for link in links)
    assert "| arm | measure |" in md
    assert not list(report.html.parent.glob(".*.tmp"))


def fake_run(params, *, steps, seed, agent_snapshot_every=0, progress=False):
    """A stand-in model with the measures the report reads (gap grows with beta, less when balanced)."""
    from sociosim.runner import RunResult

    rng = np.random.default_rng(seed)
    t = np.arange(1, steps + 1)
    slope = 0.15 if params.aggregation == "balanced" else 0.3
    kl = 0.3 * params.beta**1.5
    d = np.sqrt(kl)
    base = {
        "gap": 0.2 + slope * params.beta,
        "kl": kl,
        "true_utility": d * (1.2 - 0.5 * d),
        "gap_shift": 0.5 + params.beta,
        "value_capture": 0.9 - 0.1 * params.beta,
        "trust_mean": 0.6,
        "reliability": 0.55,
        "sycophancy": 0.5 + 0.05 * params.beta,
        "utility_0": 0.1,
        "utility_1": -0.1 if params.aggregation == "pooled" else 0.1,
        "value_diversity": 1.0,
    }
    data = {"step": t} | {k: v + rng.normal(0, 0.02, steps) for k, v in base.items()}
    return RunResult(measures=pd.DataFrame(data), events=pd.DataFrame())


def test_cli_report_from_a_batch_store(tmp_path):
    from sociosim.batch.execute import run_batch
    from sociosim.config.scenario import Scenario

    scenario = Scenario.model_validate(
        {
            "scenario": {
                "name": "fake-grid",
                "title": "Aggregation against pressure",
                "question": "Does balancing help?",
            },
            "run": {"steps": 6, "seed": 11, "replications": 3},
            "params": {"persuasion": 0.05},
            "design": {
                "method": "grid",
                "parameters": {"aggregation": ["pooled", "balanced"], "beta": [0.0, 1.0, 2.0]},
            },
        }
    )
    store = tmp_path / "store"
    run_batch(scenario, store=store, progress=False, executor="serial", _run_fn=fake_run)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", str(store), "--out", str(out), "--last", "3"])
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text()
    assert "Does balancing help?" in text and "Policy comparison: aggregation against pooled" in text
    assert "root seed" in text and ">11<" in text and "persuasion" in text
    assert (out / "report.md").is_file() and (out / "figures" / "gap_vs_pressure.png").is_file()
    assert not list((out / "figures").glob("*.svg"))  # PNG only unless asked
    svg = CliRunner().invoke(app, ["report", str(store), "--out", str(tmp_path / "svg"), "--svg", "--quiet"])
    assert svg.exit_code == 0, svg.output
    assert (tmp_path / "svg" / "figures" / "gap_vs_pressure.svg").is_file()
    assert "gap_vs_pressure.svg" in (tmp_path / "svg" / "report.md").read_text()


def test_cli_report_input_errors_exit_2(tmp_path):
    frame = tmp_path / "m.parquet"
    synthetic_batch(replications=2, steps=4).to_parquet(frame)
    runner = CliRunner()
    missing = runner.invoke(app, ["report", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad_by = runner.invoke(app, ["report", str(frame), "--out", str(tmp_path / "o"), "--by", "colour"])
    assert bad_by.exit_code == 2 and "colour" in bad_by.output
    bad_base = runner.invoke(
        app, ["report", str(frame), "--out", str(tmp_path / "o"), "--by", "aggregation", "--baseline", "x"]
    )
    assert bad_base.exit_code == 2 and "baseline" in bad_base.output


@pytest.mark.browser
def test_report_renders_in_headless_chromium_without_errors(report, chromium):
    errors: list[str] = []
    requests: list[str] = []
    page = chromium.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url))
    page.goto(report.html.as_uri(), wait_until="load")
    images = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
    tables = page.eval_on_selector_all("table", "els => els.length")
    title = page.title()
    assert errors == []
    assert images and all(images)
    assert tables >= 8 and title.startswith("sociosim report")
    assert all(u.startswith(("file:", "data:")) for u in requests)


def test_a_store_with_two_scenario_versions_reports_only_the_latest():
    from sociosim.analysis.report import latest_batch

    df = pd.DataFrame(
        {"scenario_hash": ["old", "old", "new", "new"], "run_key": ["a", "b", "c", "c"], "gap": 1.0}
    )

    class TwoBatches:
        def runs(self):
            return pd.DataFrame(
                {"scenario_hash": ["new", "old"], "committed_at": ["2026-11-26T10:00", "2026-11-25T10:00"]}
            )

    kept, left_out = latest_batch(df, TwoBatches())
    assert set(kept.scenario_hash) == {"new"} and left_out == 2
    with pytest.raises(ValueError, match="several scenario versions"):
        latest_batch(df, None)
    same, none_left = latest_batch(df[df.scenario_hash == "old"], None)
    assert len(same) == 2 and none_left == 0


def test_sections_about_measures_the_scenario_does_not_look_at_are_listed_not_shown(tmp_path):
    from sociosim.analysis.report import write_report
    from sociosim.batch.execute import run_batch
    from sociosim.config.scenario import Scenario

    scenario = Scenario.model_validate(
        {
            "scenario": {"name": "gap-only", "look_at": ["gap"]},
            "run": {"steps": 6, "seed": 1, "replications": 2},
            "design": {
                "method": "grid",
                "parameters": {"aggregation": ["pooled", "balanced"], "beta": [0.0, 2.0]},
            },
        }
    )
    store = tmp_path / "store"
    run_batch(scenario, store=store, progress=False, executor="serial", _run_fn=fake_run)
    focused = write_report(store, tmp_path / "focused", n_boot=100)
    assert "sycophancy" not in focused.sections and "trust" not in focused.sections
    assert "look_at" in focused.skipped["sycophancy"] and "look_at" in focused.skipped["trust"]
    assert "pressure" in focused.sections  # about the gap, which it looks at
    everything = write_report(store, tmp_path / "all", n_boot=100, all_sections=True)
    assert {"sycophancy", "trust"} <= set(everything.sections)
