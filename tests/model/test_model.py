"""The Mesa model: agents as views, channels of feedback, developer behaviour, snapshots."""

import numpy as np
import pytest

import sociosim
from sociosim.model.agents import AnnotatorAgent, DeveloperAgent, RegulatorAgent, UserAgent
from sociosim.model.feedback import AI_RATER, PROBE_RATER, USER_RATER
from sociosim.model.policy import best_of_n_kl_bound


def test_agents_are_views_on_the_population_arrays(small):
    model = sociosim.AlignmentModel(rng=0, n_regulators=2, **small)
    users = model.agents_by_type[UserAgent]
    assert len(users) == small["n_users"]
    assert len(model.agents_by_type[AnnotatorAgent]) == small["n_annotators"]
    assert len(model.agents_by_type[DeveloperAgent]) == 1 and len(model.agents_by_type[RegulatorAgent]) == 2
    for _ in range(3):
        model.step()
    user = next(iter(users))
    assert user.trust == model.users.trust[user.index]
    np.testing.assert_array_equal(user.values, model.users.values[user.index])
    assert set(user.neighbors) == set(model.graph.neighbors(user.index))
    annotator = next(iter(model.agents_by_type[AnnotatorAgent]))
    assert annotator.culture == model.annotators.culture[annotator.index]


def test_every_label_channel_feeds_the_window(small):
    model = sociosim.AlignmentModel(
        rng=1,
        rlaif=True,
        rlaif_labels=50,
        thumbs_feedback=True,
        thumbs_labels=20,
        shift_training=0.5,
        **small,
    )
    model.step()
    cultures = set(np.unique(model.window.labels().culture))
    assert {AI_RATER, PROBE_RATER, USER_RATER} <= cultures
    assert cultures & set(range(4))


def test_rlaif_anchors_the_reward_model_to_its_own_past():
    """An AI rater that labels by the current reward slows how far human drift moves it."""

    def turn(rlaif):
        angles = []
        for seed in range(3):
            model = sociosim.AlignmentModel(n_users=150, rng=seed, drift=0.02, rlaif=rlaif, rlaif_labels=6000)
            for _ in range(10):
                model.step()
            before = model.reward_model.theta / np.linalg.norm(model.reward_model.theta)
            for _ in range(30):
                model.step()
            after = model.reward_model.theta / np.linalg.norm(model.reward_model.theta)
            angles.append(np.linalg.norm(after - before))
        return np.mean(angles)

    assert turn(True) < 0.9 * turn(False)


def test_engagement_seeking_developer_raises_pressure_while_engagement_rises():
    frame = sociosim.run(
        steps=30, seed=0, n_users=300, beta_mode="engagement", beta=0.5, beta_step=0.25, beta_max=4
    )
    beta = frame["beta_effective"].to_numpy()
    assert beta[-1] > beta[0]
    assert beta.max() <= 4.0
    assert np.all(np.diff(beta) >= 0)


def test_best_of_n_policy_respects_the_kl_bound(small):
    frame = sociosim.run(steps=5, seed=2, optimizer="best_of_n", best_of_n=16, **small)
    assert (frame["kl"] <= best_of_n_kl_bound(16) + 1e-12).all()
    assert (frame["kl"] > 0.5 * best_of_n_kl_bound(16)).all()


def test_agent_snapshots_on_request(small):
    result = sociosim.run_scenario(steps=6, seed=0, agent_snapshot_every=3, **small)
    agents = result.agents
    assert sorted(agents.step.unique()) == [3, 6]
    assert len(agents) == 2 * small["n_users"]
    assert {"user", "culture", "trust", "active", "value_0"} <= set(agents.columns)
    assert agents.trust.between(0, 1).all()
    assert sociosim.run_scenario(steps=2, seed=0, **small).agents is None


@pytest.mark.parametrize("network", ["sbm", "watts_strogatz", "barabasi_albert"])
def test_networks_have_the_requested_mean_degree(network):
    model = sociosim.AlignmentModel(
        n_users=2000, n_annotators=6, n_responses=32, network=network, mean_degree=10, rng=0
    )
    degree = np.diff(model.users.adjacency.indptr)
    assert degree.mean() == pytest.approx(10, rel=0.1)
    assert (model.users.adjacency != model.users.adjacency.T).nnz == 0


def test_sbm_homophily_sets_the_share_of_ties_within_culture():
    model = sociosim.AlignmentModel(n_users=4000, n_annotators=6, n_responses=32, homophily=0.8, rng=0)
    adjacency = model.users.adjacency.tocoo()
    culture = model.users.culture
    within = np.mean(culture[adjacency.row] == culture[adjacency.col])
    assert within == pytest.approx(0.8, abs=0.02)
