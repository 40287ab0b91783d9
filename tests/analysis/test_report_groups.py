"""A report per (scenario, code): a store with two scenarios, or two codes, gives one correctly titled report each."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sociosim.batch.execute as execute
from sociosim.batch.execute import run_batch
from sociosim.batch.provenance import CodeInfo
from sociosim.batch.store import open_store
from sociosim.cli import app
from sociosim.config.scenario import Scenario
from sociosim.runner import RunResult


def fake_run(params, *, steps, seed, agent_snapshot_every=0, progress=False):
    """A stand-in model: the gap is 10 x beta plus 100 when the pool is balanced (tells scenarios apart)."""
    rng = np.random.default_rng(seed)
    gap = 10 * params.beta + (100.0 if params.aggregation == "balanced" else 0.0)
    data = {
        "step": np.arange(1, steps + 1),
        "gap": gap + rng.normal(0, 0.01, steps),
        "true_utility": 0.1 + rng.normal(0, 0.01, steps),
        "kl": params.beta + rng.normal(0, 0.01, steps),
    }
    return RunResult(measures=pd.DataFrame(data), events=pd.DataFrame())


def scenario(name: str, title: str, question: str, aggregation: str, betas: list[float]) -> Scenario:
    return Scenario.model_validate(
        {
            "scenario": {"name": name, "title": title, "question": question},
            "run": {"steps": 4, "seed": 3, "replications": 2},
            "params": {"aggregation": aggregation},
            "design": {"method": "grid", "parameters": {"beta": betas}},
        }
    )


ALPHA = scenario("alpha", "Alpha title", "What does alpha ask?", "pooled", [1.0, 2.0])
OMEGA = scenario("omega", "Omega title", "What does omega ask?", "balanced", [0.0, 3.0, 5.0])


def mean_gap(html: str) -> float:
    """The mean gap the report states in its Outcomes table, averaged over the design points."""
    return float(np.mean([float(v) for v in re.findall(r'data-col="gap"[^>]*>([-0-9.e]+)<', html)]))


@pytest.fixture(scope="module")
def two_scenarios(tmp_path_factory):
    store = tmp_path_factory.mktemp("two") / "store"
    for sc in (ALPHA, OMEGA):
        run_batch(sc, store=store, progress=False, executor="serial", _run_fn=fake_run)
    return store


def test_two_scenarios_in_one_store_give_two_correctly_titled_reports(two_scenarios, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", str(two_scenarios), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    runs = open_store(two_scenarios).runs()
    for sc, other, n_runs in ((ALPHA, OMEGA, 4), (OMEGA, ALPHA, 6)):
        code = runs.loc[runs["scenario"] == sc.name, "code"].iloc[0]
        html = (out / f"{sc.name}-{code}" / "report.html").read_text()
        assert f"<title>sociosim report: {sc.name}</title>" in html
        assert sc.scenario.question in html and other.scenario.question not in html
        assert f"{n_runs} finished runs" in html
        assert sc.content_hash() != other.content_hash()
        assert code in html
    alpha = (out / f"alpha-{runs['code'].iloc[0]}" / "report.html").read_text()
    omega = (out / f"omega-{runs['code'].iloc[0]}" / "report.html").read_text()
    # the numbers are each scenario's own: alpha's gap ~ 10 x mean(1, 2); omega's ~ 100 + 10 x mean(0, 3, 5)
    assert mean_gap(alpha) == pytest.approx(15.0, abs=0.1)
    assert mean_gap(omega) == pytest.approx(100 + 80 / 3, abs=0.1)


def test_scenario_option_writes_only_that_one(two_scenarios, tmp_path):
    out = tmp_path / "one"
    result = CliRunner().invoke(
        app, ["report", str(two_scenarios), "--out", str(out), "--scenario", "omega", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "What does omega ask?" in html and "What does alpha ask?" not in html
    missing = CliRunner().invoke(app, ["report", str(two_scenarios), "--out", str(out), "--scenario", "zeta"])
    assert missing.exit_code == 2 and "zeta" in missing.output and "alpha, omega" in missing.output


def test_two_codes_of_one_scenario_give_two_reports_each_naming_its_code(tmp_path, monkeypatch):
    store = tmp_path / "store"
    for fingerprint in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"):
        monkeypatch.setattr(execute, "code_info", lambda f=fingerprint: CodeInfo("0.1.0", f, None, None))
        run_batch(ALPHA, store=store, progress=False, executor="serial", _run_fn=fake_run)
    assert len(open_store(store).runs()) == 8
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", str(store), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    # the newest code's report where a single-scenario report goes; the older code's beside it
    newest, older = (
        (out / "report.html").read_text(),
        (out / "alpha-aaaaaaaaaaaa" / "report.html").read_text(),
    )
    assert "code bbbbbbbbbbbb" in newest and "4 finished runs" in newest
    assert "other code" in newest and "alpha-aaaaaaaaaaaa/report.html" in newest
    assert "code aaaaaaaaaaaa" in older and "4 finished runs" in older
    assert "bbbbbbbbbbbb" in older and "../report.html" in older  # it points back to the newer report
    assert not (out / "alpha-bbbbbbbbbbbb").exists()


def test_write_report_on_a_store_with_two_codes_reports_the_newest(tmp_path, monkeypatch):
    from sociosim.analysis.report import write_report

    store = tmp_path / "store"
    for fingerprint in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"):
        monkeypatch.setattr(execute, "code_info", lambda f=fingerprint: CodeInfo("0.1.0", f, None, None))
        run_batch(ALPHA, store=store, progress=False, executor="serial", _run_fn=fake_run)
    html = write_report(store, tmp_path / "out", n_boot=100).html.read_text()
    assert "code bbbbbbbbbbbb" in html and "4 finished runs" in html
    older = write_report(store, tmp_path / "old", code="aaaaaaaaaaaa", n_boot=100).html.read_text()
    assert "code aaaaaaaaaaaa" in older and "4 finished runs" in older
    with pytest.raises(ValueError, match="several scenarios"):
        run_batch(OMEGA, store=store, progress=False, executor="serial", _run_fn=fake_run)
        write_report(store, tmp_path / "x", n_boot=100)
