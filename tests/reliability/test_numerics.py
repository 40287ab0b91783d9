"""Numeric edges: extreme pressure, one culture, one user, no network, identical responses, everyone churned.

Whatever the settings, every measure is finite, the policy is a probability vector and
trust stays in [0, 1]. Models are tiny and run a few steps.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sociosim import AlignmentModel
from sociosim.model.feedback import pairwise_agreement
from sociosim.model.labs import new_reward_model
from sociosim.model.metrics import total_variance, weighted_corr
from sociosim.model.policy import best_of_n, beta_within_kl, kl_divergence, kl_tilt, n_within_kl, standardise

# numpy warnings (overflow, invalid value, divide by zero) are failures here: they are how NaN starts
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TINY = {"n_users": 40, "n_annotators": 5, "n_responses": 24, "labels_per_step": 6}
STEPS = 3


def assert_sane(model: AlignmentModel) -> None:
    """Finite measures, a policy that is a distribution, trust within [0, 1]."""
    frame = model.results()
    values = frame.drop(columns="step").to_numpy(dtype=float)
    bad = [c for c in frame.columns[1:] if not np.isfinite(frame[c].to_numpy(dtype=float)).all()]
    assert np.isfinite(values).all(), f"non-finite measures: {bad}"
    assert np.all(model.policy >= 0) and model.policy.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.isfinite(model.policy).all()
    trust = model.users.trust
    assert np.all((trust >= 0.0) & (trust <= 1.0))
    assert np.isfinite(model.users.values).all()


def run_tiny(steps: int = STEPS, **overrides) -> AlignmentModel:
    model = AlignmentModel(rng=overrides.pop("seed", 0), **(TINY | overrides))
    for _ in range(steps):
        model.step()
    return model


# --- the policy and metric functions on their own ---------------------------------------------

rewards = st.sampled_from(["constant", "random", "huge", "tiny", "two_levels"])


def make_reward(kind: str, m: int, rng: np.random.Generator) -> np.ndarray:
    return {
        "constant": np.full(m, 3.0),
        "random": rng.standard_normal(m),
        "huge": rng.standard_normal(m) * 1e150,
        "tiny": rng.standard_normal(m) * 1e-150,
        "two_levels": np.where(rng.random(m) < 0.5, -1.0, 1.0),
    }[kind]


@settings(max_examples=200, deadline=None)
@given(
    beta=st.floats(min_value=0.0, max_value=1e3) | st.sampled_from([0.0, 1e-300, 1e3]),
    m=st.integers(min_value=2, max_value=64),
    kind=rewards,
    seed=st.integers(0, 2**16),
    skewed_base=st.booleans(),
)
def test_tilted_policy_is_a_distribution_for_any_pressure_and_reward(beta, m, kind, seed, skewed_base):
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.full(m, 0.3)) if skewed_base else np.full(m, 1.0 / m)
    base = np.maximum(base, 1e-300)
    base /= base.sum()
    reward_z = standardise(make_reward(kind, m, rng), base)
    assert np.isfinite(reward_z).all()
    policy = kl_tilt(reward_z, beta, base)
    assert np.isfinite(policy).all() and np.all(policy >= 0)
    assert policy.sum() == pytest.approx(1.0, abs=1e-12)
    kl = kl_divergence(policy, base)
    assert np.isfinite(kl) and kl >= 0
    if kind == "constant":
        np.testing.assert_allclose(policy, base, rtol=1e-12)  # nothing to optimise: no movement
        assert kl == pytest.approx(0.0, abs=1e-12)
    budget_beta = beta_within_kl(reward_z, base, beta=beta, budget=0.1)
    assert 0.0 <= budget_beta <= beta
    assert kl_divergence(kl_tilt(reward_z, budget_beta, base), base) <= 0.1 + 1e-9


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 10_000_000), m=st.integers(2, 64), kind=rewards, seed=st.integers(0, 2**16))
def test_best_of_n_is_a_distribution_for_any_n_and_reward(n, m, kind, seed):
    rng = np.random.default_rng(seed)
    base = np.full(m, 1.0 / m)
    reward = make_reward(kind, m, rng)
    policy = best_of_n(reward, n, base)
    assert np.isfinite(policy).all() and np.all(policy >= 0)
    assert policy.sum() == pytest.approx(1.0, abs=1e-12)
    if kind == "constant":  # every draw ties: best-of-n is the base policy
        np.testing.assert_allclose(policy, base, rtol=1e-12)
    assert 1 <= n_within_kl(reward, base, n=n, budget=0.05) <= n


def test_constant_inputs_give_defined_statistics():
    m = 16
    base = np.full(m, 1.0 / m)
    constant = np.full(m, 2.5)
    assert np.array_equal(standardise(constant, base), np.zeros(m))
    assert weighted_corr(constant, np.arange(m, dtype=float), base) == 0.0
    assert total_variance(np.ones((5, 3))) == 0.0
    assert total_variance(np.empty((0, 3))) == 0.0
    for probabilities in (np.full((4, 7), 0.5), np.zeros((4, 7)), np.ones((1, 7))):
        agreement = pairwise_agreement(probabilities)
        assert 0.0 <= agreement <= 1.0


# --- whole models at the edges ----------------------------------------------------------------

EDGES = {
    "beta_zero": {"beta": 0.0},
    "beta_max": {"beta": 1000.0, "annotator_precision": 1000.0},
    "one_culture": {"n_cultures": 1},
    "one_user": {"n_users": 1, "n_cultures": 1, "mean_degree": 0.0},
    "empty_network": {"mean_degree": 0.0},
    "all_churn_by_threshold": {"churn_threshold": 1.0},
    "all_churn_no_trust": {"trust_init": 0.0, "churn_threshold": 0.5},
    "two_responses_one_value": {"n_responses": 2, "n_values": 1, "n_cultures": 1},
    "exact_quality_view": {"quality_noise": 0.0, "n_responses": 2},
    "no_labels": {"labels_per_step": 0},
    "one_annotator": {"n_annotators": 1},
    "no_visible_features": {"visible_features": []},
    "zero_kl_budget": {"kl_budget": 0.0},
    "engagement_race": {"beta_mode": "engagement", "beta_step": 100.0, "beta_max": 1000.0},
    "best_of_huge_n": {"optimizer": "best_of_n", "best_of_n": 10_000_000},
    "no_spread": {"culture_spread": 0.0},
    "one_culture_holds_everyone": {"user_shares": [1.0, 0.0, 0.0, 0.0], "annotator_shares": [0.0, 0.0, 0.0, 1.0]},
    "balanced_single_culture_pool": {"aggregation": "balanced", "annotator_shares": [1.0, 0.0, 0.0, 0.0]},
    "tiny_confidence": {"bounded_confidence": 1e-9},
    "every_channel": {"rlaif": True, "thumbs_feedback": True, "shift_training": 1.0},
    "regulators_every_step": {"n_regulators": 2, "audit_every": 1, "audit_gap_threshold": 0.0},
    "nearly_cauchy_style": {"tail_df": 2.0001, "polish_quality": 0.99, "quality_harm_corr": 0.99},
    "no_queries": {"query_share": 0.0},
    "blind_users": {"detection_mean": 0.0},
    "small_world_of_four": {"network": "watts_strogatz", "n_users": 4, "mean_degree": 3.0},
    "scale_free_of_four": {"network": "barabasi_albert", "n_users": 4, "mean_degree": 3.0},
}  # fmt: skip


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_settings_keep_every_measure_finite(name):
    model = run_tiny(**EDGES[name])
    assert_sane(model)
    if name.startswith("all_churn"):
        assert model.results()["active_share"].iloc[-1] == 0.0


@settings(max_examples=25, deadline=None)
@given(
    beta=st.floats(min_value=0.0, max_value=1e3),
    n_cultures=st.integers(1, 3),
    n_users=st.integers(3, 30),
    degree_share=st.floats(0.0, 0.99),
    trust_init=st.floats(0.0, 1.0),
    churn=st.floats(0.0, 1.0),
    precision=st.floats(1e-3, 1e3),
    seed=st.integers(0, 1000),
)
def test_random_edge_combinations_keep_every_measure_finite(
    beta, n_cultures, n_users, degree_share, trust_init, churn, precision, seed
):
    model = run_tiny(
        beta=beta,
        n_cultures=n_cultures,
        n_users=n_users,
        mean_degree=degree_share * (n_users - 1),
        trust_init=trust_init,
        churn_threshold=churn,
        annotator_precision=precision,
        seed=seed,
    )
    assert_sane(model)


def test_identical_responses_give_finite_measures_and_the_base_policy():
    """A catalogue whose responses are all the same: nothing to learn, nothing to optimise."""
    model = AlignmentModel(rng=4, **(TINY | {"beta": 50.0}))
    cat = model.catalogue
    same = {f.name: np.repeat(getattr(cat, f.name)[:1], cat.size, axis=0) for f in dataclasses.fields(cat)}
    model.catalogue = dataclasses.replace(cat, **same)
    lab = model.labs[0]
    lab.reward_model = new_reward_model(lab.params, model.catalogue)
    model.retrain()
    for _ in range(STEPS):
        model.step()
    assert_sane(model)
    np.testing.assert_allclose(model.policy, model.base, rtol=1e-12)
    last = model.results().iloc[-1]
    assert last["kl"] == pytest.approx(0.0, abs=1e-12)
    assert last["proxy"] == 0.0 and last["true_utility"] == 0.0
