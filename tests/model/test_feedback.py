"""Comparisons, agreement and the Bradley–Terry reward model (DESIGN §2)."""

import itertools

import numpy as np
import pytest

from sociosim.model.feedback import (
    Labels,
    LabelWindow,
    aggregation_weights,
    newton_bradley_terry,
    pairwise_agreement,
    preference_probability,
)


def test_bradley_terry_fit_recovers_known_weights():
    rng = np.random.default_rng(0)
    theta = np.array([1.5, -0.7, 0.0, 0.3])
    x = rng.standard_normal((40_000, 4))
    y = (rng.random(40_000) < preference_probability(x @ theta, 0.0, 1.0)).astype(float)
    fitted = newton_bradley_terry(x.T.copy(), y, np.ones(len(y)), l2=1e-6)
    np.testing.assert_allclose(fitted, theta, atol=0.05)


def test_l2_shrinks_the_fit():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 3))
    y = (rng.random(500) < preference_probability(x @ np.array([2.0, 0.0, -1.0]), 0.0, 1.0)).astype(float)
    loose = newton_bradley_terry(x.T.copy(), y, np.ones(500), l2=1e-6)
    tight = newton_bradley_terry(x.T.copy(), y, np.ones(500), l2=500.0)
    assert np.linalg.norm(tight) < 0.5 * np.linalg.norm(loose)


def test_pairwise_agreement_matches_enumeration():
    rng = np.random.default_rng(2)
    p = rng.random((5, 7))
    brute = []
    for k in range(7):
        pairs = [
            p[i, k] * p[j, k] + (1 - p[i, k]) * (1 - p[j, k]) for i, j in itertools.permutations(range(5), 2)
        ]
        brute.append(np.mean(pairs))
    assert pairwise_agreement(p) == pytest.approx(np.mean(brute))
    assert pairwise_agreement(np.full((3, 4), 0.5)) == pytest.approx(0.5)
    assert pairwise_agreement(np.ones((3, 4))) == pytest.approx(1.0)


def test_balanced_aggregation_gives_each_culture_equal_weight():
    culture = np.array([0] * 70 + [1] * 10 + [2] * 20)
    weights = aggregation_weights(culture, balanced=True)
    totals = np.bincount(culture, weights=weights)
    np.testing.assert_allclose(totals, totals[0])
    assert weights.sum() == pytest.approx(100)
    np.testing.assert_allclose(aggregation_weights(culture, balanced=False), 1.0)


def test_label_window_ages_out_old_labels():
    window = LabelWindow(steps=2)
    for size in (3, 4, 5):
        idx = np.arange(size)
        window.push(Labels(idx, idx, np.ones(size), idx))
    assert len(window) == 9
    assert len(window.labels()) == 9
