"""Issue 2's science: Murphy's laws of the alignment engine, as properties over fixed seeds."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sweeps import curve, mean_outcome, outcome

BETAS = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]
SEEDS = range(8)
WELL_SPECIFIED = {
    "visible_features": ["stance", "quality", "harm", "polish", "anthro", "agree"],
    "quality_noise": 0.0,
    "polish_bias": 0.0,
    "anthro_bias": 0.0,
    "flattery_bias": 0.0,
    "bias_spread": 0.0,
    "annotator_shares": [0.25, 0.25, 0.25, 0.25],
}

pytestmark = pytest.mark.slow


def test_proxy_rises_monotonically_with_pressure():
    proxy = curve("proxy", BETAS, over="beta", seeds=SEEDS)
    assert np.all(np.diff(proxy) > 0), proxy


def test_gap_grows_with_pressure():
    gap = curve("gap", BETAS, over="beta", seeds=SEEDS)
    assert spearmanr(BETAS, gap).statistic >= 0.9, gap
    assert gap[-1] > gap[2] > 0, gap


def test_gaussian_style_gives_only_regressional_goodhart():
    utility = curve("true_utility", BETAS, over="beta", seeds=SEEDS, bias_tail="gaussian")
    assert np.all(np.diff(utility) > 0), utility


# The fall of true utility at beta 8 that DESIGN §1's 4-seed prototype reported is not
# robust in expectation: over 24 seeds U(8) < U(4) in under half of the catalogues. What
# holds over every block of seeds tried is the extremal-Goodhart *cap*: with a heavy-tailed
# style feature true utility stops rising between beta 4 and 8, while with a Gaussian tail
# (regressional Goodhart only) it keeps rising and ends clearly higher.
TAIL_BETAS = [2.0, 4.0, 8.0]
TAIL_SEEDS = range(16)


def test_heavy_tailed_style_caps_true_utility_where_a_gaussian_tail_keeps_rising():
    heavy = curve("true_utility", TAIL_BETAS, over="beta", seeds=TAIL_SEEDS)
    gaussian = curve("true_utility", TAIL_BETAS, over="beta", seeds=TAIL_SEEDS, bias_tail="gaussian")
    assert np.all(np.diff(gaussian) > 0.2), gaussian
    assert heavy[2] - heavy[1] < 0.15, heavy  # the heavy tail's plateau
    assert (gaussian[2] - gaussian[1]) - (heavy[2] - heavy[1]) > 0.2, (heavy, gaussian)
    assert gaussian[2] > heavy[2] + 0.3, (heavy, gaussian)


def test_full_visibility_and_unbiased_balanced_raters_shrink_the_gap():
    default = mean_outcome(SEEDS, beta=8.0)["gap"]
    specified = mean_outcome(SEEDS, beta=8.0, **WELL_SPECIFIED)["gap"]
    assert specified < 0.25 * default, (specified, default)


def test_flattery_biased_raters_make_the_policy_sycophantic_and_a_constitution_flattens_it():
    flattery = {"flattery_bias": 1.5}
    biased = curve("sycophancy", BETAS, over="beta", seeds=range(4), **flattery)
    assert np.all(np.diff(biased) > 0), biased
    penalised = curve("sycophancy", BETAS, over="beta", seeds=range(4), agree_penalty=2.0, **flattery)
    assert penalised[-1] - penalised[0] < 0.25 * (biased[-1] - biased[0]), (penalised, biased)


def test_annotator_drift_trades_substance_for_style_and_calibration_bounds_it():
    # users held fixed (no persuasion) and calibration as a pure reset, to isolate rater drift
    drift = {"drift": 0.01, "beta": 1.0, "persuasion": 0.0, "calibration_strength": 0.0}
    seeds = range(6)
    early = mean_outcome(seeds, steps=20, **drift)
    late = mean_outcome(seeds, steps=120, **drift)
    assert late["polish"] > early["polish"] + 0.2, (early["polish"], late["polish"])
    assert late["true_utility"] < early["true_utility"] - 0.1, (early["true_utility"], late["true_utility"])
    calibrated = mean_outcome(seeds, steps=120, calibrate_every=10, **drift)
    assert calibrated["polish"] < late["polish"] - 0.2
    assert calibrated["annotator_bias"] < late["annotator_bias"]
    assert calibrated["true_utility"] > late["true_utility"]


def test_a_skewed_annotator_pool_hurts_the_worst_off_culture():
    for beta in (1.0, 2.0, 4.0):
        skewed = mean_outcome(range(4), beta=beta, annotator_shares=[0.7, 0.1, 0.1, 0.1])
        balanced = mean_outcome(range(4), beta=beta, annotator_shares=[0.25, 0.25, 0.25, 0.25])
        assert skewed["utility_min"] < balanced["utility_min"], beta


def test_annotator_agreement_is_realistic_in_the_default_configuration():
    agreement = np.mean([outcome(seed=s, beta=1.0)["annotator_agreement"] for s in range(4)])
    assert 0.63 <= agreement <= 0.77, agreement
