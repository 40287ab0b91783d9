"""The report's statistics are the well-kept libraries' numbers: scipy's bootstrap and linregress, statsmodels' adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sociosim.analysis.effects import compare_policies, stream_seed
from sociosim.analysis.stats import adjust_pvalues, below_noise, bootstrap_ci, ols_line, paired_mean


def test_bootstrap_ci_is_scipys_bca_on_the_same_data_and_generator():
    d = np.random.default_rng(1).normal(0.3, 1.0, 12)
    ours = bootstrap_ci((d,), paired_mean, n_boot=999, seed=[7, 8])
    theirs = stats.bootstrap(
        (d,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng([7, 8])
    ).confidence_interval
    assert ours.method == "bca"
    assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), rel=1e-12)


def test_compare_policies_ci_is_scipys_bootstrap_of_the_paired_differences():
    rng = np.random.default_rng(3)
    rep = np.repeat(np.arange(8), 2)
    arm = np.tile(["none", "lever"], 8)
    noise = rng.normal(0, 0.3, 8)
    gap = np.where(arm == "lever", 1.0, 1.5) + noise[rep] + rng.normal(0, 0.1, 16)
    runs = pd.DataFrame({"run_key": [f"r{i}" for i in range(16)], "replicate": rep, "lever": arm, "gap": gap})
    row = compare_policies(runs, by="lever", baseline="none", measures="gap", n_boot=500, seed=5).iloc[0]
    d = gap[arm == "lever"] - gap[arm == "none"]
    ci = stats.bootstrap(
        (d,),
        np.mean,
        n_resamples=500,
        method="BCa",
        rng=np.random.default_rng(stream_seed(5, "lever", "gap")),
    ).confidence_interval
    assert (row["diff_lo"], row["diff_hi"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert row["p"] == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)
    assert row["median_diff"] == pytest.approx(np.median(d))
    assert row["share_down"] == pytest.approx(np.mean(d < 0)) and row["share_up"] == pytest.approx(
        np.mean(d > 0)
    )


def test_zero_spread_differences_get_no_standardised_effect():
    base = np.full(6, 0.7)
    # differences of floating-point noise size: what identical runs give after a different summation order
    tiny = np.array([1e-17, -2e-17, 3e-17, 0.0, 1e-17, -1e-17])
    runs = pd.DataFrame(
        {
            "run_key": [f"r{i}" for i in range(12)],
            "replicate": np.tile(np.arange(6), 2),
            "lever": ["none"] * 6 + ["label"] * 6,
            "gap": np.concatenate([base, base + tiny]),
            "kl": np.concatenate([base, base + np.array([0.1, 0.3, 0.2, 0.25, 0.15, 0.2])]),
        }
    )
    table = compare_policies(runs, by="lever", baseline="none", measures=["gap", "kl"], n_boot=200)
    gap, kl = table.set_index("measure").loc["gap"], table.set_index("measure").loc["kl"]
    assert np.isnan(gap["effect_size"]) and np.isnan(gap["effect_lo"]) and np.isnan(gap["effect_av"])
    assert gap["effect_note"] == "no variation" and np.isnan(gap["p"])
    assert np.isfinite(kl["effect_size"]) and kl["effect_note"] == ""
    assert below_noise(0.0) and below_noise(1e-17, base) and not below_noise(1e-6, base)


def test_holm_and_bh_adjustments_match_the_definitions_and_scipy():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan, 0.005])
    holm = adjust_pvalues(p, "holm")
    finite = p[np.isfinite(p)]
    order = np.argsort(finite)
    m = len(finite)
    stepped = np.maximum.accumulate((m - np.arange(m)) * finite[order])
    expected = np.empty(m)
    expected[order] = np.minimum(stepped, 1.0)
    assert holm[np.isfinite(p)] == pytest.approx(expected) and np.isnan(holm[4])
    bh = adjust_pvalues(p, "fdr_bh")
    assert bh[np.isfinite(p)] == pytest.approx(stats.false_discovery_control(finite, method="bh"))


def test_ols_line_is_linregress():
    x = np.linspace(0, 2, 15)
    y = 0.4 + 0.3 * x + np.random.default_rng(2).normal(0, 0.05, 15)
    fit, ref = ols_line(x, y), stats.linregress(x, y)
    assert (fit.slope, fit.intercept, fit.slope_se, fit.slope_p) == pytest.approx(
        (ref.slope, ref.intercept, ref.stderr, ref.pvalue)
    )
    t = stats.t.ppf(0.975, 13)
    assert (fit.slope_lo, fit.slope_hi) == pytest.approx(
        (ref.slope - t * ref.stderr, ref.slope + t * ref.stderr)
    )
