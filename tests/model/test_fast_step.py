"""The rewritten step gives the old step's results: users exactly, measures to 1e-12.

`benchmarks.baseline_step.BaselineModel` keeps the step as it was before the speed rewrite
(issue 17). Both models are built with the same seed and stepped side by side; the users'
states must stay bit-identical, the measures computed from them too, and every other
measure, the reward fits and the policies equal to 1e-12 (Newton now stops one iteration
earlier and the agreement uses the tanh identity, so they may differ in the last bits).
"""

import numpy as np
import pandas as pd
import pytest

from benchmarks.baseline_step import USER_STATE, BaselineModel, old_perceived
from sociosim.model.feedback import Labels, LabelWindow, RewardModel
from sociosim.model.model import AlignmentModel

SMALL = {"n_users": 300, "n_annotators": 24, "n_responses": 128}
CASES = {
    "default_2000": {"n_users": 2000},
    "small": SMALL,
    "two_labs": {**SMALL, "n_labs": 2},
    "two_labs_2000_current": {"n_users": 2000, "n_labs": 2, "label_policy": "current"},
    "drift_and_calibration": {
        **SMALL,
        "label_policy": "current",
        "drift": 0.01,
        "value_drift": 0.02,
        "calibrate_every": 5,
    },
    "regulator_misspecification": {
        **SMALL,
        "n_regulators": 1,
        "audit_every": 3,
        "audit_gap_threshold": 0.0,
        "regulator_lever": "misspecification",
    },
    "regulator_annotation": {
        **SMALL,
        "n_regulators": 1,
        "audit_every": 4,
        "audit_gap_threshold": 0.0,
        "regulator_lever": "annotation",
    },
    "thumbs_rlaif_balanced_probe": {
        **SMALL,
        "thumbs_feedback": True,
        "rlaif": True,
        "aggregation": "balanced",
        "shift_training": 0.3,
    },
    "bounded_confidence_best_of_n": {**SMALL, "bounded_confidence": 0.8, "optimizer": "best_of_n"},
}
STEPS = 25


def user_state(model) -> dict[str, np.ndarray]:
    users = model.users
    return {
        name: getattr(users, name)
        for name in ("values", "trust", "trust_cal", "trust_plain", "active", "last_response", "last_lab")
    }


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_new_step_matches_the_pinned_step(case):
    new, old = AlignmentModel(rng=7, **CASES[case]), BaselineModel(rng=7, **CASES[case])
    for _ in range(STEPS):
        new.step()
        old.step()
        for name, array in user_state(new).items():
            np.testing.assert_array_equal(array, user_state(old)[name], err_msg=name)
    got, want = new.results(), old.results()
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got[USER_STATE], want[USER_STATE], check_exact=True)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12)
    assert new.events == old.events
    for lab_new, lab_old in zip(new.labs, old.labs, strict=True):
        np.testing.assert_allclose(
            lab_new.reward_model.theta, lab_old.reward_model.theta, rtol=1e-12, atol=1e-14
        )
        np.testing.assert_allclose(lab_new.policy, lab_old.policy, rtol=1e-12, atol=1e-15)


def test_perceived_rewards_are_recomputed_when_raters_change():
    model = AlignmentModel(rng=3, **SMALL)
    pool, lab = model.annotators, model.labs[0]

    def perceived():
        return pool.perceived(model.catalogue, model.weights, defect_detection=lab.params.defect_detection)

    first = perceived()
    assert perceived() is first  # cached while the raters stay
    pool.polish_bias = pool.polish_bias + 0.5  # an assignment, as drift and calibrate make
    second = perceived()
    assert second is not first
    np.testing.assert_array_equal(
        second,
        old_perceived(pool, model.catalogue, model.weights, defect_detection=lab.params.defect_detection),
    )
    pool.values[0, 0] += 1.0  # in place: the caller must say so
    pool.touch()
    np.testing.assert_array_equal(
        perceived(),
        old_perceived(pool, model.catalogue, model.weights, defect_detection=lab.params.defect_detection),
    )
    assert not perceived().flags.writeable


def test_window_design_equals_gathering_every_row():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((20, 3))
    window = LabelWindow(steps=3)
    for size in (5, 7, 4, 6):
        first, second = rng.integers(0, 20, size), rng.integers(0, 20, size)
        window.push(Labels(first, second, rng.random(size).round(), np.zeros(size, dtype=np.int64)))
        diff, wins = window.design(features)
        labels = window.labels()
        np.testing.assert_array_equal(diff, (features[labels.first] - features[labels.second]).T)
        np.testing.assert_array_equal(wins, labels.first_wins)
    other = rng.standard_normal((20, 2))  # another reward model's features: the blocks are made anew
    diff, _ = window.design(other)
    labels = window.labels()
    np.testing.assert_array_equal(diff, (other[labels.first] - other[labels.second]).T)


def test_refit_on_the_window_equals_refit_on_its_labels():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((30, 4))
    window = LabelWindow(steps=4)
    for _ in range(6):
        first, second = rng.integers(0, 30, 50), rng.integers(0, 30, 50)
        window.push(Labels(first, second, (rng.random(50) < 0.6).astype(float), rng.integers(0, 3, 50)))
    for balanced in (False, True):
        a = RewardModel(features, np.zeros(4), np.zeros(30))
        b = RewardModel(features, np.zeros(4), np.zeros(30))
        a.refit(window, l2=0.1, balanced=balanced)
        b.refit(window.labels(), l2=0.1, balanced=balanced)
        np.testing.assert_array_equal(a.theta, b.theta)
        assert np.any(a.theta != 0)
