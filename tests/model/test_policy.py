"""The identities of DESIGN §2 for KL-tilting and best-of-n, to numerical precision."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sociosim.model.policy import (
    best_of_n,
    best_of_n_kl_bound,
    beta_within_kl,
    kl_divergence,
    kl_tilt,
    n_within_kl,
    sample_responses,
    standardise,
)


def catalogue(m, seed=0):
    rng = np.random.default_rng(seed)
    reward = rng.standard_normal(m)
    utility = 0.6 * reward + 0.8 * rng.standard_normal(m)
    base = rng.dirichlet(np.ones(m))
    return standardise(reward, base), utility, base


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 2.5, 6.0])
def test_derivative_of_expected_reward_is_its_variance(beta):
    r, _, base = catalogue(400)
    h = 1e-5
    slope = (kl_tilt(r, beta + h, base) @ r - kl_tilt(r, max(beta - h, 0), base) @ r) / (
        beta + h - max(beta - h, 0)
    )
    pi = kl_tilt(r, beta, base)
    variance = pi @ (r - pi @ r) ** 2
    assert slope == pytest.approx(variance, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 2.5, 6.0])
def test_derivative_of_true_utility_is_covariance(beta):
    r, u, base = catalogue(400, seed=1)
    h = 1e-5
    lo = max(beta - h, 0)
    slope = (kl_tilt(r, beta + h, base) @ u - kl_tilt(r, lo, base) @ u) / (beta + h - lo)
    pi = kl_tilt(r, beta, base)
    covariance = pi @ ((r - pi @ r) * (u - pi @ u))
    assert slope == pytest.approx(covariance, rel=1e-6, abs=1e-9)


def test_kl_vanishes_as_pressure_vanishes():
    r, _, base = catalogue(300, seed=2)
    kls = [kl_divergence(kl_tilt(r, beta, base), base) for beta in (1.0, 0.1, 0.01, 0.001, 0.0)]
    assert kls[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a > b for a, b in zip(kls, kls[1:], strict=False))
    # second order: KL ~ beta^2 Var(r) / 2 near zero
    assert kls[3] == pytest.approx(0.5 * 0.001**2 * (base @ r**2), rel=1e-2)


@pytest.mark.parametrize("n", [1, 2, 4, 16, 64, 256])
def test_best_of_n_kl_bound_holds_and_is_tight_on_a_large_catalogue(n):
    m = 4096
    rng = np.random.default_rng(n)
    reward = rng.standard_normal(m)
    base = np.full(m, 1.0 / m)
    kl = kl_divergence(best_of_n(reward, n, base), base)
    bound = best_of_n_kl_bound(n)
    assert kl <= bound + 1e-12
    if n > 1:
        assert kl >= 0.9 * bound


def test_best_of_n_matches_monte_carlo():
    rng = np.random.default_rng(3)
    reward = rng.standard_normal(20)
    base = rng.dirichlet(np.ones(20))
    draws = rng.choice(20, size=(200_000, 5), p=base)
    winners = draws[np.arange(len(draws)), np.argmax(reward[draws], axis=1)]
    empirical = np.bincount(winners, minlength=20) / len(winners)
    np.testing.assert_allclose(best_of_n(reward, 5, base), empirical, atol=4e-3)


def test_best_of_n_shares_ties_by_base_probability():
    reward = np.array([1.0, 1.0, 0.0])
    base = np.array([0.2, 0.6, 0.2])
    policy = best_of_n(reward, 3, base)
    assert policy[2] == pytest.approx(0.2**3)
    assert policy[0] / policy[1] == pytest.approx(0.2 / 0.6)


@settings(max_examples=60, deadline=None)
@given(
    beta=st.floats(0, 1000),
    m=st.integers(1, 50),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.0, 1e-8, 1.0, 1e6]),
)
def test_tilted_policy_is_a_distribution_for_any_pressure(beta, m, seed, scale):
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.ones(m))
    reward = standardise(scale * rng.standard_normal(m), base)
    pi = kl_tilt(reward, beta, base)
    assert np.all(np.isfinite(pi)) and np.all(pi >= 0)
    assert pi.sum() == pytest.approx(1.0)
    assert np.isfinite(kl_divergence(pi, base))


def test_kl_budget_and_beta_search():
    r, _, base = catalogue(300, seed=4)
    beta = beta_within_kl(r, base, beta=20.0, budget=0.5)
    assert kl_divergence(kl_tilt(r, beta, base), base) == pytest.approx(0.5, abs=1e-6)
    assert beta_within_kl(r, base, beta=0.1, budget=0.5) == 0.1
    n = n_within_kl(r, base, n=1000, budget=0.5)
    assert kl_divergence(best_of_n(r, n, base), base) <= 0.5
    assert kl_divergence(best_of_n(r, n + 1, base), base) > 0.5


def test_sampling_follows_the_policy():
    policy = np.array([0.1, 0.0, 0.6, 0.3])
    draws = sample_responses(policy, 100_000, np.random.default_rng(0))
    assert not np.any(draws == 1)
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 1e5, policy, atol=5e-3)
