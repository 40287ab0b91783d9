"""The society's science: deception-driven trust, homogenisation, value imposition, mirage, MAPS, regulators."""

import networkx as nx
import numpy as np
import pytest
from scipy import stats
from sweeps import N_CULTURES, SCIENCE_SIZE, balanced_shares, curve, mean_outcome, seeds, skewed_shares

import sociosim
from sociosim.model.dynamics import degroot_average, update_trust
from sociosim.model.network import from_networkx, row_normalised

pytestmark = pytest.mark.slow
SKEWED = skewed_shares()
BALANCED = balanced_shares()
NARROW = skewed_shares(1.0)


# --- deception-driven trust ---------------------------------------------------------------
def test_human_like_output_buys_unearned_trust_and_disclosure_takes_it_back():
    low = mean_outcome(seeds(8), steps=60, anthro_mean=0.2)
    high = mean_outcome(seeds(8), steps=60, anthro_mean=0.8)
    disclosed = mean_outcome(seeds(8), steps=60, anthro_mean=0.8, disclosure=True)
    assert high["overtrust"] > low["overtrust"] + 0.03, (low["overtrust"], high["overtrust"])
    assert high["trust_from_anthro"] > low["trust_from_anthro"]
    assert disclosed["overtrust"] < high["overtrust"] - 0.03, (disclosed["overtrust"], high["overtrust"])
    assert disclosed["trust_from_anthro"] < high["trust_from_anthro"]


def test_trust_falls_faster_after_failures_than_it_rises_after_successes():
    trust = np.full(4, 0.5)
    outcome = np.array([1.0, 0.0, 1.0, 0.0])
    change = update_trust(trust, outcome, rate=0.1, loss_aversion=1.5) - trust
    assert change[1] == pytest.approx(-1.5 * change[0])
    # and in the running model, where users with perfect detection see the real outcomes
    model = sociosim.AlignmentModel(n_users=3000, detection_mean=1.0, trust_init=0.5, rng=0)
    model.step()
    users = model.users
    asked = ~np.isnan(users.last_outcome)
    rise = users.trust[asked & (users.last_outcome == 1)] - 0.5
    fall = 0.5 - users.trust[asked & (users.last_outcome == 0)]
    assert rise.size > 50 and fall.size > 50
    assert fall.mean() == pytest.approx(1.5 * rise.mean(), rel=1e-9)


# --- homogenisation -------------------------------------------------------------------------
def test_persuasion_homogenises_values_faster_than_the_network_alone():
    for eta in (0.0, 0.02):
        early = mean_outcome(seeds(8), steps=10, persuasion=eta)
        late = mean_outcome(seeds(8), steps=150, persuasion=eta)
        assert late["value_diversity"] < early["value_diversity"]
        assert late["culture_separation"] < early["culture_separation"]
    quiet = mean_outcome(seeds(8), steps=150, persuasion=0.0)
    persuaded = mean_outcome(seeds(8), steps=150, persuasion=0.02)
    assert persuaded["value_diversity"] < 0.8 * quiet["value_diversity"]
    assert persuaded["culture_separation"] < 0.9 * quiet["culture_separation"]


def test_homophily_with_bounded_confidence_keeps_cultures_apart():
    kept = mean_outcome(seeds(8), steps=150, persuasion=0.0, homophily=0.95, bounded_confidence=1.2)
    assert kept["culture_separation"] > 0.9, kept["culture_separation"]
    assert kept["culture_entropy"] > 0.95


def test_degroot_converges_to_the_degree_weighted_mean():
    graph = nx.connected_watts_strogatz_graph(60, 4, 0.3, seed=1)
    adjacency = from_networkx(graph, 60)
    values = np.random.default_rng(2).standard_normal((60, 3))
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    target = degree @ values / degree.sum()
    state = values
    for _ in range(3000):
        state = degroot_average(state, row_normalised(adjacency), weight=0.5)
    np.testing.assert_allclose(state, np.tile(target, (60, 1)), atol=1e-8)


# --- value imposition -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def imposition():
    return {
        "skewed": mean_outcome(seeds(8), steps=150, annotator_shares=SKEWED),
        "balanced": mean_outcome(seeds(8), steps=150, annotator_shares=BALANCED),
    }


def stance_alignments(row):
    return np.array([row[f"stance_alignment_{c}"] for c in range(N_CULTURES)])


def test_skewed_pool_points_the_policy_at_the_dominant_culture(imposition):
    skewed = stance_alignments(imposition["skewed"])
    balanced = stance_alignments(imposition["balanced"])
    assert skewed[0] > skewed[1:].max() + 0.5, skewed
    if SCIENCE_SIZE.get("n_values", 4) >= N_CULTURES:
        # with orthogonal centres a balanced pool singles out no culture (with C > D the
        # centres overlap, and any stance aligns with some cultures more than others)
        assert balanced.max() - balanced.min() < 0.3, balanced
        assert balanced.max() - balanced.min() < 0.4 * (skewed.max() - skewed.min()), (balanced, skewed)


def test_minority_users_are_pulled_toward_the_dominant_culture(imposition):
    skewed, balanced = imposition["skewed"], imposition["balanced"]
    assert skewed["dominant_pull"] > 0.05
    assert skewed["dominant_pull"] > 3 * abs(balanced["dominant_pull"])
    assert skewed["minority_drift"] > skewed["majority_drift"] + 0.1
    assert abs(balanced["minority_drift"] - balanced["majority_drift"]) < 0.1


# --- alignment mirage -----------------------------------------------------------------------------
def test_mirage_under_a_narrow_pool_and_the_shift_lever_narrows_it():
    # restated: the shift lever narrows the mirage, but by raising the home gap; gap_shift
    # itself does not fall (docs/science.md, "Where the model departs")
    narrow = mean_outcome(seeds(8), beta=1.0, annotator_shares=NARROW)
    assert narrow["gap_shift"] > narrow["gap"] + 0.1
    shifted = mean_outcome(seeds(8), beta=1.0, annotator_shares=NARROW, shift_training=0.6)
    assert shifted["mirage"] < narrow["mirage"] - 0.05, (shifted["mirage"], narrow["mirage"])
    assert shifted["gap"] > narrow["gap"], (shifted["gap"], narrow["gap"])


# --- MAPS: levers cut slope or intercept, never make the gap flat -----------------------------------
BETAS = [0.5, 1.0, 2.0, 4.0]


def fit(measure, lever):
    values = curve(measure, BETAS, over="beta", seeds=seeds(8), lever=lever)
    slope, intercept = np.polyfit(BETAS, values, 1)
    return slope, intercept, values


@pytest.mark.parametrize(
    ("lever", "measure"), [("misspecification", "gap"), ("annotation", "gap"), ("shift", "gap_shift")]
)
def test_a_lever_lowers_slope_or_intercept_but_the_gap_still_grows(lever, measure):
    base_slope, base_intercept, _ = fit(measure, "none")
    slope, intercept, _ = fit(measure, lever)
    if lever != "shift" or SCIENCE_SIZE.get("n_responses", 512) <= 512:
        # the S lever's help with gap_shift does not survive a 2,048-response catalogue (docs/science.md)
        assert slope < base_slope or intercept < base_intercept, (
            slope,
            base_slope,
            intercept,
            base_intercept,
        )
    assert slope > 0


def test_pressure_lever_bounds_the_gap_by_bounding_kl():
    _, _, unbounded = fit("gap", "none")
    _, _, bounded = fit("gap", "pressure")
    kl = curve("kl", BETAS, over="beta", seeds=seeds(8), lever="pressure")
    assert np.all(kl <= 0.5 + 1e-9)
    # at M = 512 the budget halves the gap at beta 4 (a small catalogue saturates earlier)
    assert bounded[-1] < (0.5 if SCIENCE_SIZE.get("n_responses", 512) >= 512 else 0.8) * unbounded[-1]
    assert bounded[-1] > bounded[0]  # bounded, not flat


# --- regulators -----------------------------------------------------------------------------------------
def test_a_regulator_with_a_pressure_mandate_keeps_kl_within_budget_after_its_first_audit():
    model = sociosim.AlignmentModel(
        n_users=300,
        beta=6.0,
        n_regulators=1,
        audit_every=5,
        regulator_lever="pressure",
        regulator_kl_budget=0.4,
        rng=3,
    )
    for _ in range(30):
        model.step()
    events = model.events_frame()
    assert len(events) == 1 and events.loc[0, "lever"] == "pressure" and bool(events.loc[0, "complied"])
    assert events.loc[0, "step"] == 5 and "gap_shift" in events.loc[0, "reason"]
    results = model.results()
    assert results.loc[results.step < 5, "kl"].min() > 0.4
    assert results.loc[results.step >= 5, "kl"].max() <= 0.4 + 1e-9


def test_a_regulator_that_is_not_obeyed_asks_again():
    model = sociosim.AlignmentModel(
        n_users=200, beta=6.0, n_regulators=1, audit_every=3, compliance=0.0, rng=1
    )
    for _ in range(12):
        model.step()
    events = model.events_frame()
    assert list(events.step) == [3, 6, 9, 12] and not events.complied.any()
    assert model.params.kl_budget is None


# --- calibrated trust (DESIGN v2: overtrust against the shadow trust T_cal) -------------------------
def test_fully_informed_users_have_no_overtrust_and_no_persona_trust():
    frame = sociosim.run(steps=20, seed=seeds(1)[0], **SCIENCE_SIZE, detection_mean=1.0, anthro_mean=0.9)
    assert np.abs(frame["overtrust"]).max() <= 1e-12
    assert np.abs(frame["trust_from_anthro"]).max() <= 1e-12
    assert frame["miscalibration"].iloc[-1] < 0  # the asymmetric rule settles below the success rate


def _deception(anthro: float, disclosure: bool = False) -> np.ndarray:
    return np.array(
        [
            sociosim.run(
                "deception_trust", steps=40, seed=s, n_users=300, anthro_mean=anthro, disclosure=disclosure
            )
            .iloc[-10:][["overtrust", "trust_from_anthro"]]
            .mean()
            .to_numpy()
            for s in seeds(12)
        ]
    )


def test_a_human_like_persona_buys_overtrust_with_a_ci_excluding_zero_and_disclosure_cuts_it():
    low, high, labelled = _deception(0.1), _deception(0.9), _deception(0.9, disclosure=True)
    ci = stats.bootstrap((high[:, 0],), np.mean, random_state=np.random.default_rng(0)).confidence_interval
    assert ci.low > 0, ci
    assert high[:, 0].mean() > low[:, 0].mean() + 0.02, (low.mean(0), high.mean(0))
    assert labelled[:, 0].mean() < high[:, 0].mean() - 0.02, (labelled.mean(0), high.mean(0))
    assert labelled[:, 1].mean() < high[:, 1].mean(), (labelled.mean(0), high.mean(0))
