"""Murphy's laws of the alignment engine (DESIGN §1–§2, v2), as properties of means over fixed seeds.

Single catalogues are a lottery of style outliers, so every claim is a trend of the mean
over seeds; `SOCIOSIM_SEED_OFFSET=1000` re-runs them on seeds nobody tuned for.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sweeps import (
    FIXED_DATA,
    N_RESPONSES,
    PRESSURE,
    SCIENCE_SIZE,
    balanced_shares,
    curve,
    curve_with_se,
    mean_outcome,
    outcome,
    outcomes,
    seeds,
    skewed_shares,
)

import sociosim
from sociosim.analysis.pressure import fit_goodhart_curve

BETAS = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]
WELL_SPECIFIED = {
    "visible_features": ["stance", "quality", "harm", "polish", "anthro", "agree"],
    "quality_noise": 0.0,
    "polish_bias": 0.0,
    "anthro_bias": 0.0,
    "flattery_bias": 0.0,
    "bias_spread": 0.0,
    "defect_detection": 1.0,
    "annotator_shares": balanced_shares(),
}

pytestmark = pytest.mark.slow


# --- no collapse ---------------------------------------------------------------------------
@pytest.mark.parametrize("beta", [16.0, 64.0])
def test_high_pressure_never_collapses_to_the_base_policy_and_no_pair_is_a_tie(beta):
    for seed in seeds(8):
        model = sociosim.AlignmentModel(**SCIENCE_SIZE, beta=beta, rng=seed)
        for _ in range(30):
            model.step()
            first, second = model._last_pairs
            assert np.all(first != second)
        kl = model.results()["kl"].to_numpy()
        assert kl[1:].min() >= 0.5 * np.median(kl), (seed, kl.round(2))


# --- the gap -------------------------------------------------------------------------------
def test_proxy_rises_with_pressure_in_the_mean():
    proxy = curve("proxy", BETAS, over="beta", seeds=seeds(8), **PRESSURE)
    assert np.all(np.diff(proxy) > 0), proxy


def test_gap_grows_with_pressure():
    gap = curve("gap", BETAS, over="beta", seeds=seeds(8), **PRESSURE)
    # up to beta 4 at every size; beyond it a small catalogue (M = 97) saturates and the gap dips
    assert spearmanr(BETAS[:5], gap[:5]).statistic >= 0.9, gap
    assert gap[4] > gap[2] > 0, gap
    if N_RESPONSES >= 512:
        assert spearmanr(BETAS, gap).statistic >= 0.9 and gap[-1] > gap[2], gap


def test_well_specified_supervision_shrinks_the_gap():
    default = mean_outcome(seeds(8), beta=8.0, **PRESSURE)["gap"]
    specified = mean_outcome(seeds(8), beta=8.0, **PRESSURE, **WELL_SPECIFIED)["gap"]
    assert specified < 0.25 * default, (specified, default)


# --- Goodhart: rise, peak and fall under fixed data ----------------------------------------------
GAO_BETAS = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
GAO = {"steps": 15, "last": 5, **FIXED_DATA}


def _runs(tail: str) -> pd.DataFrame:
    rows = []
    for beta in GAO_BETAS:
        frame = outcomes(seeds(32), beta=beta, bias_tail=tail, **GAO)
        rows.append(frame.assign(beta=beta, replicate=np.arange(len(frame))))
    return pd.concat(rows, ignore_index=True)


def test_under_fixed_data_true_utility_rises_peaks_and_falls_with_a_heavy_tail():
    mean, se = curve_with_se("true_utility", GAO_BETAS, over="beta", seeds=seeds(32), **GAO)
    peak = int(np.argmax(mean))
    assert 0 < peak < len(GAO_BETAS) - 1, mean.round(3)
    assert mean[-1] < mean[peak] - se[-1], (mean.round(3), se.round(3))
    fit = fit_goodhart_curve(_runs("student_t"), form="bon", n_boot=400)
    assert fit.a_lo > 0 and fit.b_lo > 0 and fit.r2 >= 0.9, fit


def test_under_fixed_data_a_gaussian_tail_keeps_rising():
    mean, _ = curve_with_se(
        "true_utility", GAO_BETAS, over="beta", seeds=seeds(32), bias_tail="gaussian", **GAO
    )
    assert mean[-1] >= mean[GAO_BETAS.index(4.0)], mean.round(3)
    # Restated from "the fitted curvature's CI includes 0": the Gaussian curve flattens as KL
    # nears its ceiling log M, so a small curvature is fitted (b about .06 against .25 for the
    # heavy tail), but its peak lies beyond any KL this catalogue can reach: it never falls.
    fit = fit_goodhart_curve(_runs("gaussian"), form="bon", n_boot=400)
    heavy = fit_goodhart_curve(_runs("student_t"), form="bon", n_boot=400)
    assert fit.b < heavy.b_lo, (fit, heavy)
    if N_RESPONSES <= 512:  # at M = 2,048 the fitted peak's CI reaches down to log M itself
        assert fit.peak_kl_lo > np.log(N_RESPONSES), fit


def test_on_policy_labels_give_a_cap_heavy_below_gaussian_at_high_pressure():
    # iterated RLHF: fresh on-policy labels change what optimisation exploits (DESIGN §1)
    # at beta 16 only where the catalogue has a tail to exploit (M >= 512; at M = 97 the two meet)
    for beta in (4.0, 16.0) if N_RESPONSES >= 512 else (4.0,):
        heavy = outcomes(seeds(16), beta=beta, **PRESSURE)["true_utility"]
        light = outcomes(seeds(16), beta=beta, bias_tail="gaussian", **PRESSURE)["true_utility"]
        se = np.sqrt(heavy.var(ddof=1) / len(heavy) + light.var(ddof=1) / len(light))
        assert light.mean() - heavy.mean() > se, (beta, heavy.mean(), light.mean(), se)


def test_masked_defects_are_what_a_heavy_tail_lets_pressure_find():
    heavy = curve("masked_defects", [0.0, 16.0], over="beta", seeds=seeds(8), **GAO)
    light = curve("masked_defects", [0.0, 16.0], over="beta", seeds=seeds(8), bias_tail="gaussian", **GAO)
    assert heavy[1] > 5 * heavy[0] and heavy[1] > light[1], (heavy, light)


# --- Murphy's other laws -----------------------------------------------------------------------
def test_flattery_biased_raters_make_the_policy_sycophantic_and_a_constitution_flattens_it():
    flattery = {"flattery_bias": 1.5, **PRESSURE}
    betas = [0.0, 1.0, 2.0, 4.0]
    biased = curve("sycophancy", betas, over="beta", seeds=seeds(8), **flattery)
    # from beta 0 to 2 at every size; at beta 4 a 2,048-response catalogue levels it off
    assert np.all(np.diff(biased[:3]) > 0) and biased[3] > biased[0] + 0.05, biased
    penalised = curve("sycophancy", betas, over="beta", seeds=seeds(8), agree_penalty=2.0, **flattery)
    assert penalised[-1] < biased[-1] - 0.1, (penalised, biased)


def test_annotator_drift_trades_substance_for_style_and_calibration_bounds_it():
    # users held fixed (no persuasion) and calibration as a pure reset, to isolate rater drift
    drift = {"drift": 0.01, "beta": 1.0, "persuasion": 0.0, "calibration_strength": 0.0}
    early = mean_outcome(seeds(8), steps=20, **drift)
    late = mean_outcome(seeds(8), steps=120, **drift)
    assert late["polish"] > early["polish"] + 0.2, (early["polish"], late["polish"])
    calibrated = mean_outcome(seeds(8), steps=120, calibrate_every=10, **drift)
    assert calibrated["polish"] < late["polish"] - 0.2
    assert calibrated["annotator_bias"] < late["annotator_bias"]
    assert calibrated["true_utility"] > late["true_utility"], (
        calibrated["true_utility"],
        late["true_utility"],
    )


def _dominant_advantage(row) -> float:
    """How much more the dominant annotator culture (0) gains than the minorities, on average."""
    minorities = [row[f"utility_{c}"] for c in range(1, len(balanced_shares()))]
    return row["utility_0"] - float(np.mean(minorities))


def test_a_skewed_pool_favours_the_dominant_culture_and_lowers_the_floor_at_low_pressure():
    # Restated from "hurts the worst-off culture at beta 1, 2, 4": over 16 catalogues the
    # floor (utility_min) is lower under the skewed pool only at beta 0.5 (-0.05, 94 % of
    # catalogues, seeds 0-15 and 1000-1015 alike); from beta 1 on it is not. What holds at
    # every pressure is unequal benefit: the dominant culture's lead over the minorities.
    for beta in (0.5, 1.0, 2.0):
        skewed = mean_outcome(seeds(8), beta=beta, annotator_shares=skewed_shares(), **PRESSURE)
        balanced = mean_outcome(seeds(8), beta=beta, annotator_shares=balanced_shares(), **PRESSURE)
        assert _dominant_advantage(skewed) > _dominant_advantage(balanced) + 0.1, beta
        assert skewed["utility_spread"] > balanced["utility_spread"], beta
        if beta == 0.5:
            assert skewed["utility_min"] < balanced["utility_min"]


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_annotator_agreement_over_distinct_pairs_is_realistic(beta):
    agreement = np.mean([outcome(seed=s, beta=beta, **PRESSURE)["annotator_agreement"] for s in seeds(4)])
    assert 0.63 <= agreement <= 0.77, agreement
