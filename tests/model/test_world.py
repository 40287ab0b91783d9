"""The world of DESIGN §1: catalogue correlations, cultures, utilities."""

import numpy as np
import pytest

from sociosim.config.params import make_params
from sociosim.model.world import (
    UtilityWeights,
    assign_cultures,
    culture_centres,
    draw_catalogue,
    perceived_reward,
    rating_bias,
    true_utility,
)


@pytest.fixture(scope="module")
def big_catalogue():
    params = make_params(n_responses=200_000)
    return params, draw_catalogue(params, np.random.default_rng(0))


def test_catalogue_has_the_3h_tensions(big_catalogue):
    params, cat = big_catalogue
    assert np.corrcoef(cat.quality, cat.harm)[0, 1] == pytest.approx(params.quality_harm_corr, abs=0.01)
    assert np.corrcoef(cat.quality, cat.polish)[0, 1] == pytest.approx(params.polish_quality, abs=0.01)
    assert cat.polish.var() == pytest.approx(1.0, abs=0.1)
    assert cat.anthro.mean() == pytest.approx(0.5, abs=0.01)
    assert cat.agree.min() >= 0 and cat.agree.max() <= 1
    assert cat.stance.var(axis=0) == pytest.approx(np.ones(params.n_values), abs=0.02)


def test_style_tail_is_heavy_only_when_asked(big_catalogue):
    _, heavy = big_catalogue
    light = draw_catalogue(make_params(n_responses=200_000, bias_tail="gaussian"), np.random.default_rng(0))

    def kurtosis(x):
        z = (x - x.mean()) / x.std()
        return float(np.mean(z**4))

    assert kurtosis(heavy.polish) > 6.0
    assert kurtosis(light.polish) == pytest.approx(3.0, abs=0.1)


def test_anthro_mean_moves_the_catalogue():
    for mean in (0.2, 0.8):
        cat = draw_catalogue(make_params(n_responses=50_000, anthro_mean=mean), np.random.default_rng(1))
        assert cat.anthro.mean() == pytest.approx(mean, abs=0.01)


@pytest.mark.parametrize(("cultures", "dims"), [(4, 4), (2, 4), (6, 3), (1, 1)])
def test_culture_centres_are_unit_norm_and_spread(cultures, dims):
    centres = culture_centres(cultures, dims, np.random.default_rng(2))
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0)
    if cultures <= dims:
        np.testing.assert_allclose(centres @ centres.T, np.eye(cultures), atol=1e-12)


def test_culture_counts_follow_shares():
    labels = assign_cultures(1003, np.array([0.7, 0.1, 0.1, 0.1]), np.random.default_rng(3))
    counts = np.bincount(labels, minlength=4)
    assert counts.sum() == 1003
    assert abs(counts[0] - 702.1) <= 1 and all(abs(c - 100.3) <= 1 for c in counts[1:])


def test_true_and_perceived_utility_follow_the_formulas():
    params = make_params(n_responses=50)
    cat = draw_catalogue(params, np.random.default_rng(4))
    w = UtilityWeights.from_params(params)
    v = np.array([0.5, -1.0, 0.2, 0.0])
    expected = (
        cat.quality
        - params.harm_cost * cat.harm
        + cat.stance @ v
        - params.agree_cost * params.belief_error * cat.agree
        - params.anthro_cost * cat.anthro
        - params.masked_defect * np.clip(cat.polish - params.masked_defect_threshold, 0.0, 1.0)
    )
    np.testing.assert_allclose(true_utility(cat, v, w), expected)
    perceived = perceived_reward(
        cat, v, w, polish_bias=0.4, anthro_bias=0.2, flattery_bias=0.1, defect_detection=0.25
    )
    np.testing.assert_allclose(
        perceived - expected, 0.4 * cat.polish + 0.2 * cat.anthro + 0.1 * cat.agree + 0.75 * cat.defect
    )
    many = rating_bias(
        cat,
        polish_bias=np.array([0.0, 1.0]),
        anthro_bias=np.zeros(2),
        flattery_bias=np.zeros(2),
        defect_detection=1.0,
    )
    assert many.shape == (2, 50)
    np.testing.assert_allclose(many[1], cat.polish)
    shifted = w.shifted(value_weight=2.0, harm_weight=3.0)
    np.testing.assert_allclose(
        true_utility(cat, v, shifted) - true_utility(cat, v, w),
        cat.stance @ v - 2.0 * params.harm_cost * cat.harm,
    )


def test_culture_centres_are_spread_apart_when_there_are_more_cultures_than_dimensions():
    """DESIGN §1 (v2): with C > D the centres are spread on the sphere, so no two nearly coincide."""
    from sociosim.model.world import culture_centres

    for seed in range(5):
        centres = culture_centres(5, 3, np.random.default_rng(seed))
        np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0)
        cosines = centres @ centres.T - 2 * np.eye(5)
        assert cosines.max() < 0.2, cosines.max()  # the best spread of 5 on a sphere has angles >= 90 degrees
        simplex = culture_centres(4, 3, np.random.default_rng(seed))  # C = D + 1: a regular simplex
        off_diagonal = (simplex @ simplex.T)[~np.eye(4, dtype=bool)]
        np.testing.assert_allclose(off_diagonal, -1 / 3, atol=1e-3)
    orthogonal = culture_centres(3, 4, np.random.default_rng(0))
    np.testing.assert_allclose(orthogonal @ orthogonal.T, np.eye(3), atol=1e-12)
