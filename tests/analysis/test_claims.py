"""Findings first: claims in the scenario file, checked in the report, verdicts that follow from the numbers shown."""

from __future__ import annotations

import html as html_lib
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sociosim.analysis.claims import EXACT_NOTE, check_claims, verdict
from sociosim.batch.execute import run_batch
from sociosim.cli import app
from sociosim.config.scenario import Claim, Scenario, library, load_scenario
from sociosim.errors import ScenarioError
from sociosim.model.measures import is_measure
from sociosim.runner import RunResult


def fake_run(params, *, steps, seed, agent_snapshot_every=0, progress=False):
    """Known effects: balanced lowers the gap by 0.5 and its slope; drift does nothing; true utility is noise."""
    rng = np.random.default_rng(seed)
    rep = rng.normal(0, 0.05)  # the replicate's shared effect (common random numbers)
    balanced = params.aggregation == "balanced"
    gap = 1.0 + (0.1 if balanced else 0.3) * params.beta - (0.5 if balanced else 0.0) + rep
    data = {
        "step": np.arange(1, steps + 1),
        "gap": gap + rng.normal(0, 0.01, steps),
        "true_utility": rng.normal(0, 1.0) * (1 if balanced else -1) + rng.normal(0, 0.01, steps),
        "kl": params.beta + 0.0 * rep + np.zeros(steps),
    }
    return RunResult(measures=pd.DataFrame(data), events=pd.DataFrame())


CLAIMS = [
    {"text": "Balancing lowers the gap.", "measure": "gap", "level": "balanced", "direction": "lower"},
    {"text": "Balancing raises the gap.", "measure": "gap", "level": "balanced", "direction": "higher"},
    {
        "text": "Balancing moves true utility (it does not).",
        "measure": "true_utility",
        "level": "balanced",
        "direction": "higher",
    },
    {
        "text": "Balancing leaves kl alone.",
        "measure": "kl",
        "level": "balanced",
        "direction": "unchanged",
        "margin": 0.01,
    },
    {
        "text": "The gap grows with beta when pooled.",
        "measure": "gap",
        "comparison": "slope",
        "level": "pooled",
        "direction": "higher",
    },
    {
        "text": "Balancing flattens the slope.",
        "measure": "gap",
        "comparison": "slope",
        "level": "balanced",
        "baseline": "pooled",
        "direction": "lower",
    },
    {
        "text": "At beta 2 balancing lowers the gap.",
        "measure": "gap",
        "level": "balanced",
        "where": {"beta": 2.0},
        "direction": "lower",
    },
    {"text": "Harm falls (not measured here).", "measure": "harm", "level": "balanced", "direction": "lower"},
]

EXPECTED = ["holds", "does not hold", "inconclusive", "holds", "holds", "holds", "holds", "not checked"]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("claims")
    scenario = Scenario.model_validate(
        {
            "scenario": {"name": "claimed", "question": "Does balancing help?", "claims": CLAIMS},
            "run": {"steps": 4, "seed": 9, "replications": 8},
            "design": {
                "method": "grid",
                "parameters": {"aggregation": ["pooled", "balanced"], "beta": [0.5, 1.0, 2.0]},
            },
        }
    )
    store = tmp / "store"
    run_batch(scenario, store=store, progress=False, executor="serial", _run_fn=fake_run)
    out = tmp / "out"
    result = CliRunner().invoke(
        app,
        ["report", str(store), "--out", str(out), "--by", "aggregation", "--baseline", "pooled", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    return (out / "report.html").read_text()


def claim_rows(html: str) -> list[dict[str, str]]:
    """The claims table's cells by column name, read back from the HTML."""
    table = re.search(r"<caption>Claims and verdicts</caption>(.*?)</table>", html, re.S).group(1)
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = dict(re.findall(r'<td data-col="([^"]+)"[^>]*>(.*?)</td>', tr, re.S))
        if cells:
            rows.append({k: html_lib.unescape(v) for k, v in cells.items()})
    return rows


def number(text: str) -> float:
    return float(text) if text else float("nan")


def test_report_opens_with_the_summary_and_its_claims(report_html):
    first = re.search(r'<section id="([a-z]+)">', report_html).group(1)
    assert first == "summary"
    summary = report_html[report_html.index('<section id="summary">') : report_html.index("</section>")]
    assert "Question: Does balancing help?" in summary
    assert "Claims and verdicts" in summary and 'src="data:image/png;base64,' in summary


def test_verdicts_follow_from_the_numbers_in_the_same_report(report_html):
    rows = claim_rows(report_html)
    assert [r["claim"] for r in rows] == [c["text"] for c in CLAIMS]
    assert [r["verdict"] for r in rows] == EXPECTED
    margins = {c["text"]: c.get("margin") for c in CLAIMS}
    directions = {c["text"]: c["direction"] for c in CLAIMS}
    for r in rows:
        if r["verdict"] == "not checked":
            assert "harm" in r["note"]
            continue
        again = verdict(
            directions[r["claim"]],
            number(r["lo"]),
            number(r["hi"]),
            number(r["p_holm"]),
            margins[r["claim"]],
            exact=r["note"] == EXACT_NOTE,
        )
        assert again == r["verdict"], r
        assert number(r["lo"]) <= number(r["estimate"]) <= number(r["hi"])
    summary = report_html[: report_html.index("</section>")]
    assert "5 hold, 1 do not hold, 1 inconclusive, 1 not checked" in summary


def test_the_verdict_rule():
    assert verdict("lower", -2.0, -1.0, 0.01) == "holds"
    assert (
        verdict("lower", -2.0, -1.0, 0.2) == "inconclusive"
    )  # the CI excludes 0 but the adjusted p does not
    assert verdict("lower", 1.0, 2.0, 0.01) == "does not hold"
    assert verdict("higher", -1.0, 2.0, 0.01) == "inconclusive"
    assert verdict("unchanged", -0.01, 0.02, np.nan, 0.05) == "holds"
    assert verdict("unchanged", 0.1, 0.2, np.nan, 0.05) == "does not hold"
    assert verdict("unchanged", 0.0, 0.2, np.nan, 0.05) == "inconclusive"
    # every pair differs by the same amount: the sign decides, and no difference is not a decrease
    assert verdict("lower", -0.9, -0.9, np.nan, exact=True) == "holds"
    assert verdict("higher", -0.9, -0.9, np.nan, exact=True) == "does not hold"
    assert verdict("lower", 0.0, 0.0, np.nan, exact=True) == "does not hold"


def test_claims_need_a_direction_and_a_margin_only_for_unchanged(tmp_path):
    good = {"text": "x", "measure": "gap", "level": "none", "direction": "lower"}
    assert Claim.model_validate(good).comparison == "difference"
    with pytest.raises(ValueError, match="margin"):
        Claim.model_validate({**good, "direction": "unchanged"})
    with pytest.raises(ValueError, match="margin"):
        Claim.model_validate({**good, "margin": 0.1})
    path = tmp_path / "bad.toml"
    path.write_text(
        '[scenario]\nname = "bad"\n[[scenario.claims]]\ntext = "x"\nmeasure = "gap"\nlevel = "a"\ndirection = "down"\n'
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).splitlines() == [str(err.value)]
    assert "scenario.claims.0.direction" in str(err.value) and "'lower'" in str(err.value)


@pytest.mark.parametrize("name", [n for n in sorted(library()) if load_scenario(n).scenario.claims])
def test_library_claims_name_real_measures_and_design_levels(name):
    sc = load_scenario(name)
    design = sc.design.parameters if sc.design is not None else {}
    for claim in sc.scenario.claims:
        assert is_measure(claim.measure), claim.measure
        assert set(claim.where) <= set(design)
        for column, value in claim.where.items():
            assert value in design[column]
        if claim.comparison == "slope":
            assert claim.against in design
        if claim.by is not None:
            assert claim.by in design and claim.level in design[claim.by]
            assert claim.baseline is None or claim.baseline in design[claim.by]


def test_check_claims_with_every_claim_checked():
    runs = pd.DataFrame(
        {
            "run_key": list("abcdef"),
            "replicate": [0, 1, 2, 0, 1, 2],
            "lever": ["x"] * 3 + ["y"] * 3,
            "gap": [1.0, 1.2, 0.9, 0.5, 0.8, 0.3],
        }
    )
    table = check_claims(
        runs,
        [Claim(text="t", measure="gap", level="y", direction="lower")],
        by="lever",
        baseline="x",
        n_boot=100,
    )
    assert table["verdict"].iloc[0] in ("holds", "inconclusive") and table["n"].iloc[0] == 3


def test_check_claims_reports_a_missing_column_instead_of_failing():
    runs = pd.DataFrame({"run_key": ["a", "b"], "replicate": [0, 0], "lever": ["x", "y"], "gap": [1.0, 2.0]})
    table = check_claims(
        runs,
        [Claim(text="t", measure="gap", level="y", where={"beta": 1.0}, direction="lower")],
        by="lever",
        baseline="x",
    )
    assert table["verdict"].tolist() == ["not checked"] and "beta" in table["note"].iloc[0]


def test_claims_p_values_are_holm_adjusted_over_the_directional_claims():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(4)
    runs = pd.DataFrame(
        {
            "run_key": [f"r{i}" for i in range(16)],
            "replicate": np.tile(np.arange(8), 2),
            "lever": ["x"] * 8 + ["y"] * 8,
            "gap": np.concatenate([rng.normal(1.0, 0.2, 8), rng.normal(0.8, 0.2, 8)]),
            "kl": np.concatenate([rng.normal(1.0, 0.2, 8), rng.normal(1.1, 0.2, 8)]),
        }
    )
    claims = [
        Claim(text="a", measure="gap", level="y", direction="lower"),
        Claim(text="b", measure="kl", level="y", direction="higher"),
        Claim(text="c", measure="kl", level="y", direction="unchanged", margin=0.5),
    ]
    table = check_claims(runs, claims, by="lever", baseline="x", n_boot=100)
    expected = multipletests(table["p"].iloc[:2].to_numpy(float), method="holm")[1]
    assert table["p_holm"].iloc[:2].to_numpy() == pytest.approx(expected)
    assert np.isnan(table["p_holm"].iloc[2])  # an equivalence claim is judged by its CI, not a test
