"""Gap-vs-pressure slopes and Goodhart-curve fits recover known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sociosim.analysis import fit_goodhart, gap_vs_pressure, goodhart_table


def lever_frame(seed: int = 0) -> pd.DataFrame:
    """Runs of three lever levels: gap = a + b * beta + noise, one level flat (b = 0)."""
    rng = np.random.default_rng(seed)
    truth = {"none": (0.5, 0.4), "quota": (0.2, 0.25), "flat": (0.3, 0.0)}
    rows = []
    for lever, (a, b) in truth.items():
        for beta in np.linspace(0, 4, 9):
            for r in range(5):
                rows.append(
                    {
                        "run_key": f"{lever}-{beta}-{r}",
                        "lever": lever,
                        "beta": beta,
                        "replicate": r,
                        "kl": 0.5 * beta**2,
                        "gap": a + b * beta + rng.normal(0, 0.1),
                    }
                )
    return pd.DataFrame(rows)


def test_slopes_and_intercepts_are_recovered_with_t_intervals():
    table = gap_vs_pressure(lever_frame(), x="beta", by="lever").set_index("level")
    for lever, (a, b) in {"none": (0.5, 0.4), "quota": (0.2, 0.25), "flat": (0.3, 0.0)}.items():
        row = table.loc[lever]
        assert row["slope_lo"] < b < row["slope_hi"]
        assert row["intercept_lo"] < a < row["intercept_hi"]
        assert row["n"] == 45
    assert table.loc["none", "slope_nonzero"] and table.loc["quota", "slope_nonzero"]
    assert not table.loc["flat", "slope_nonzero"]
    assert (table["ci"] == "t").all()


def test_t_interval_matches_scipy_linregress():
    df = lever_frame(3)
    sub = df[df["lever"] == "quota"]
    ref = stats.linregress(sub["beta"], sub["gap"])
    row = gap_vs_pressure(df, by="lever").set_index("level").loc["quota"]
    assert row["slope"] == pytest.approx(ref.slope)
    assert row["slope_se"] == pytest.approx(ref.stderr)
    assert row["intercept_se"] == pytest.approx(ref.intercept_stderr)
    assert row["r2"] == pytest.approx(ref.rvalue**2)


def test_bootstrap_interval_covers_the_truth_and_sqrt_kl_axis_works():
    df = lever_frame(1)
    boot = gap_vs_pressure(df, by="lever", ci="bootstrap", n_boot=1000, seed=2).set_index("level")
    assert boot.loc["none", "slope_lo"] < 0.4 < boot.loc["none", "slope_hi"]
    # sqrt(kl) = beta / sqrt(2), so the slope against sqrt(kl) is sqrt(2) times larger.
    d = gap_vs_pressure(df, x="sqrt_kl", by="lever").set_index("level")
    b = gap_vs_pressure(df, x="beta", by="lever").set_index("level")
    assert d.loc["none", "slope"] == pytest.approx(np.sqrt(2) * b.loc["none", "slope"])


@pytest.mark.parametrize(("form", "a", "b"), [("bon", 1.3, 0.45), ("kl", 0.8, 0.6)])
def test_goodhart_fit_recovers_a_and_b_on_noise_free_data(form, a, b):
    d = np.linspace(0.0, 4.0, 30)
    shape = d if form == "bon" else np.log(np.where(d > 0, d, 1.0))
    u = d * (a - b * shape)
    fit = fit_goodhart(d, u, form=form)
    assert fit.a == pytest.approx(a, abs=1e-9)
    assert fit.b == pytest.approx(b, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0)
    grid = np.linspace(1e-6, 10, 200_001)
    numeric = grid[np.argmax(fit.predict(grid))]
    assert fit.d_star == pytest.approx(numeric, abs=1e-3)
    expected = a / (2 * b) if form == "bon" else np.exp(a / b - 1)
    assert fit.d_star == pytest.approx(expected)
    assert fit.u_star == pytest.approx(float(fit.predict(np.array(fit.d_star))))


def test_goodhart_without_a_peak_and_bad_input():
    d = np.linspace(0, 3, 10)
    assert fit_goodhart(d, d * (1.0 + 0.2 * d), form="bon").d_star == np.inf
    with pytest.raises(ValueError, match="shapes differ"):
        fit_goodhart(d, d[:-1])
    with pytest.raises(ValueError, match="form"):
        fit_goodhart(d, d, form="quadratic")


def test_goodhart_table_fits_runs_per_group():
    rng = np.random.default_rng(0)
    rows = []
    for lever, (a, b) in {"x": (1.2, 0.5), "y": (1.0, 0.2)}.items():
        for r, kl in enumerate(np.linspace(0, 9, 25)):
            d = np.sqrt(kl)
            rows.append(
                {
                    "run_key": f"{lever}{r}",
                    "lever": lever,
                    "kl": kl,
                    "true_utility": d * (a - b * d) + rng.normal(0, 1e-3),
                }
            )
    table = goodhart_table(pd.DataFrame(rows), by="lever", forms=("bon",)).set_index("level")
    assert table.loc["x", "a"] == pytest.approx(1.2, abs=0.01)
    assert table.loc["y", "b"] == pytest.approx(0.2, abs=0.01)
    assert (table["r2"] > 0.99).all()
